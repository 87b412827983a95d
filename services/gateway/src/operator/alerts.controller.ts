import { Controller, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { PageQuery } from '../http/api.schemas';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { AlertReadsRepository } from '../reads/alert-reads.repository';
import { AlertReadsService } from '../reads/alert-reads.service';
import { READ_POOL } from '../reads/read-pool.token';
import { AlertListQuery, AlertListSchema, AlertRuleListSchema, SilenceListQuery, SilenceListSchema } from './alerts.schemas';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, ReasonBody, SilenceBody, YamlBody } from './operator.schemas';
import { ReadModelGate } from './read-model.gate';

const SERVICE = 'alerter';
const tag = 'alerts';

@Controller()
export class AlertsController {
  private readonly reads: AlertReadsService;

  constructor(
    @Inject(CommandDispatcher) private readonly commands: CommandDispatcher,
    @Inject(ReadModelGate) gate: ReadModelGate,
    @Inject(READ_POOL) pool: Pool,
  ) {
    this.reads = new AlertReadsService(new AlertReadsRepository(pool), gate);
  }

  @Endpoint({ method: 'GET', path: '/alerts', tag, role: 'viewer', service: SERVICE, summary: 'Alerts, newest first, with what broke, since when, the owner and the runbook', query: AlertListQuery, response: AlertListSchema })
  list(@Input('query') q: z.output<typeof AlertListQuery>) {
    return this.reads.alerts(q);
  }

  @Endpoint({ method: 'POST', path: '/alerts/:id/ack', tag, role: 'operator', service: SERVICE, summary: 'Acknowledge an alert: someone is on it (stops its escalation)', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  ack(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'acknowledge_alert', action: 'alerts.ack', payload: { alertId: p.id, ...(b.reason !== undefined && { reason: b.reason }) }, target: { alert: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/alerts/:id/resolve', tag, role: 'operator', service: SERVICE, summary: 'Mark an alert resolved', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  resolve(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'resolve_alert', action: 'alerts.resolve', payload: { alertId: p.id, ...(b.reason !== undefined && { reason: b.reason }) }, target: { alert: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'GET', path: '/silences', tag, role: 'viewer', service: SERVICE, summary: 'Silences (active by default; expired ones are kept for audit)', query: SilenceListQuery, response: SilenceListSchema })
  silences(@Input('query') q: z.output<typeof SilenceListQuery>) {
    return this.reads.silences(q);
  }

  @Endpoint({ method: 'POST', path: '/silences', tag, role: 'operator', service: SERVICE, summary: 'Silence alerts whose labels match, for a while', body: SilenceBody, response: CommandOutcomeSchema })
  silence(@Input('body') b: z.output<typeof SilenceBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'create_silence', action: 'alerts.silence', payload: b }, caller);
  }

  @Endpoint({ method: 'POST', path: '/silences/:id/expire', tag, role: 'operator', service: SERVICE, summary: 'End a silence now (it stays listed as expired)', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  expire(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'expire_silence', action: 'alerts.silence.expire', payload: { silenceId: p.id, ...(b.reason !== undefined && { reason: b.reason }) }, target: { silence: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'GET', path: '/alert-rules', tag, role: 'viewer', service: SERVICE, summary: 'The applied alert rule set: rules, receivers, inhibitions and escalations', query: PageQuery, response: AlertRuleListSchema })
  listRules(@Input('query') _q: z.output<typeof PageQuery>) {
    return this.reads.rules();
  }

  @Endpoint({ method: 'POST', path: '/alert-rules', tag, role: 'operator', service: SERVICE, summary: 'Replace the alert rule set from YAML (rejected as a whole, every error with its path)', body: YamlBody, response: CommandOutcomeSchema })
  rules(@Input('body') b: z.output<typeof YamlBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'apply_alert_rules', action: 'alerts.rules.apply', payload: b, ...(b.file !== undefined && { target: { file: b.file } }) }, caller);
  }
}
