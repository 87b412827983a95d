import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import type { Principal } from '../auth/roles.decorator';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import { CommandDispatcher } from './command.dispatcher';
import { ApprovalParams, CommandOutcomeSchema, CommentBody, IdParams, ReasonBody, StartRunBody } from './operator.schemas';

/** Runs are started by the scheduler and executed (cancelled, approved) by the executor; reads live in reads/run-reads.controller.ts. */
@Controller()
export class RunsController {
  constructor(@Inject(CommandDispatcher) private readonly commands: CommandDispatcher) {}

  @Endpoint({ method: 'POST', path: '/runs', tag: 'runs', role: 'operator', service: 'scheduler', summary: 'Start a run of a workflow now', body: StartRunBody, response: CommandOutcomeSchema })
  start(@Input('body') b: z.output<typeof StartRunBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: 'scheduler', command: 'start_run', action: 'runs.start', payload: b, target: { workflow: b.workflow } }, caller);
  }

  @Endpoint({ method: 'POST', path: '/runs/:id/cancel', tag: 'runs', role: 'operator', service: 'executor', summary: 'Cancel a run; running steps are stopped', params: IdParams, body: ReasonBody, response: CommandOutcomeSchema })
  cancel(@Input('params') p: z.output<typeof IdParams>, @Input('body') b: z.output<typeof ReasonBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: 'executor', command: 'cancel_run', action: 'runs.cancel', payload: { runId: p.id }, target: { run: p.id }, reason: b.reason }, caller);
  }

  @Endpoint({ method: 'POST', path: '/approvals/:run/:step/approve', tag: 'approvals', role: 'operator', service: 'executor', summary: 'Approve a waiting step; the run continues', params: ApprovalParams, body: CommentBody, response: CommandOutcomeSchema })
  approve(@Input('params') p: z.output<typeof ApprovalParams>, @Input('body') b: z.output<typeof CommentBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: 'executor', command: 'approve_step', action: 'approvals.approve', payload: { runId: p.run, stepId: p.step, ...b, approver: { teams: caller.teams, role: caller.role } }, target: { run: p.run, step: p.step } }, caller);
  }

  @Endpoint({ method: 'POST', path: '/approvals/:run/:step/reject', tag: 'approvals', role: 'operator', service: 'executor', summary: 'Reject a waiting step; the run fails', params: ApprovalParams, body: CommentBody, response: CommandOutcomeSchema })
  reject(@Input('params') p: z.output<typeof ApprovalParams>, @Input('body') b: z.output<typeof CommentBody>, @Caller() caller: Principal) {
    return this.commands.dispatch({ service: 'executor', command: 'reject_step', action: 'approvals.reject', payload: { runId: p.run, stepId: p.step, ...b, approver: { teams: caller.teams, role: caller.role } }, target: { run: p.run, step: p.step } }, caller);
  }
}
