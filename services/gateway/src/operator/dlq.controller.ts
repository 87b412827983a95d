import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { CommandOutcomeSchema, IdParams, ReasonBody, RequiredReasonBody } from './operator.schemas';

const SERVICE = 'executor';
const tag = 'dlq';

@Controller()
export class DlqController {
  constructor(@Inject(CommandDispatcher) private readonly commands: CommandDispatcher) {}


  @Endpoint({ method: 'POST', path: '/dlq/:id/requeue', tag, role: 'operator', service: SERVICE, summary: 'Send a dead letter back for another attempt', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  requeue(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'requeue_dead_letter', action: 'dlq.requeue', payload: { deadLetterId: p.id }, target: { deadLetter: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/dlq/:id/discard', tag, role: 'operator', service: SERVICE, summary: 'Give up on a dead letter for good (the reason is required)', params: IdParams, body: RequiredReasonBody, response: CommandOutcomeSchema })
  discard(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof RequiredReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: SERVICE, command: 'discard_dead_letter', action: 'dlq.discard', payload: { deadLetterId: p.id }, target: { deadLetter: p.id }, reason: b.reason }, caller);
  }
}
