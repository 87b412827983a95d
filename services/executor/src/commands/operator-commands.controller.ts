import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CommandEnvelope } from '@steward/messaging';
import type { Clock } from '../clock';
import { CLOCK } from '../executor.tokens';
import { RunEngine } from '../runs/run.engine';
import { CommandRunner } from './command.runner';
import { ApprovalDecisionPayload, CancelRunPayload, DiscardDeadLetterPayload, RequeueDeadLetterPayload } from './command.schemas';

/** An operator's command without an actor is still recorded, under this name. */
const UNKNOWN_ACTOR = 'unknown';

/** Operator actions the gateway sends: cancel, approvals, dead letters. */
@Controller()
export class OperatorCommandsController {
  constructor(
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventPattern('cmd:cancel_run')
  cancel(@Payload() command: CommandEnvelope): Promise<void> {
    return this.commands.run(command, CancelRunPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'CancelRun', runId: p.runId, ...(p.reason !== undefined && { reason: p.reason }), ...(c.actor !== undefined && { actor: c.actor }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:approve_step')
  approve(@Payload() command: CommandEnvelope): Promise<void> {
    return this.commands.run(command, ApprovalDecisionPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'ApprovalGranted', runId: p.runId, stepId: p.stepId, approver: c.actor ?? UNKNOWN_ACTOR, ...(p.comment !== undefined && { comment: p.comment }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:reject_step')
  reject(@Payload() command: CommandEnvelope): Promise<void> {
    return this.commands.run(command, ApprovalDecisionPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'ApprovalRejected', runId: p.runId, stepId: p.stepId, approver: c.actor ?? UNKNOWN_ACTOR, ...(p.comment !== undefined && { comment: p.comment }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:requeue_dead_letter')
  requeue(@Payload() command: CommandEnvelope): Promise<void> {
    return this.commands.run(command, RequeueDeadLetterPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'Requeue', runId: p.runId, stepId: p.stepId, ...(c.actor !== undefined && { actor: c.actor }), ...(p.reason !== undefined && { reason: p.reason }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:discard_dead_letter')
  discard(@Payload() command: CommandEnvelope): Promise<void> {
    return this.commands.run(command, DiscardDeadLetterPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'DiscardDeadLetter', runId: p.runId, stepId: p.stepId, ...(c.actor !== undefined && { actor: c.actor }), reason: p.reason, now: this.clock.now() }, meta),
    );
  }
}
