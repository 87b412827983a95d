import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { AlertsQuery, CommandOutcomeSchema, IdParams, ReasonBody, SilenceBody, YamlBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'alerter';
const tag = 'alerts';

@Controller()
export class AlertsController {
  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) private readonly reads: ReadModelGate,
  ) {}

  @Endpoint({ method: 'GET', path: '/alerts', tag, role: 'viewer', service: SERVICE, summary: 'Alerts with their runbooks', query: AlertsQuery })
  list(@Input('query') _q: z.output<typeof AlertsQuery>) {
    return this.reads.unavailable(SERVICE, 'alerts');
  }

  @Endpoint({ method: 'POST', path: '/alerts/:id/ack', tag, role: 'operator', service: SERVICE, summary: 'Acknowledge an alert: someone is on it', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  ack(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'acknowledge_alert', action: 'alerts.ack', payload: { alertId: p.id }, target: { alert: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/alerts/:id/resolve', tag, role: 'operator', service: SERVICE, summary: 'Mark an alert resolved', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  resolve(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'resolve_alert', action: 'alerts.resolve', payload: { alertId: p.id }, target: { alert: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/silences', tag, role: 'operator', service: SERVICE, summary: 'Silence alerts whose labels match, for a while', body: SilenceBody, response: CommandOutcomeSchema })
  silence(@Input('body') b: z.output<typeof SilenceBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'create_silence', action: 'alerts.silence', payload: b }, caller);
  }

  @Endpoint({ method: 'POST', path: '/alert-rules', tag, role: 'operator', service: SERVICE, summary: 'Create or update alert rules from YAML', body: YamlBody, response: CommandOutcomeSchema })
  rules(@Input('body') b: z.output<typeof YamlBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'apply_alert_rules', action: 'alerts.rules.apply', payload: b }, caller);
  }
}
