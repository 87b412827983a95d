import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CommandEnvelope } from '@steward/messaging';
import type { z } from 'zod';
import type { Clock } from '../clock';
import { CLOCK } from '../executor.tokens';
import { RunEngine } from '../runs/run.engine';
import { DeadLetterActionRepository } from '../projection/dead-letter-action.repository';
import { CommandRunner } from '@steward/runtime';
import { ApprovalDecisionPayload, CancelRunPayload, DiscardDeadLetterPayload, RequeueDeadLetterPayload } from './command.schemas';
import { DeadLetterBulk, discardWork, requeueWork } from './dead-letter-bulk.service';

/** An operator's command without an actor is still recorded, under this name. */
const UNKNOWN_ACTOR = 'unknown';

/** The caller's teams and role for the approvers check; a command without them is checked by actor name alone. */
function approverOf(p: z.output<typeof ApprovalDecisionPayload>) {
  return p.approver === undefined ? {} : { approverTeams: p.approver.teams, approverRole: p.approver.role };
}

/** Operator actions the gateway sends: cancel, approvals, dead letters (one, or many by id). */
@Controller()
export class OperatorCommandsController {
  private readonly bulk: DeadLetterBulk;

  constructor(
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.bulk = new DeadLetterBulk(commands, engine, new DeadLetterActionRepository(), clock);
  }

  @EventPattern('cmd:cancel_run')
  async cancel(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, CancelRunPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'CancelRun', runId: p.runId, ...(p.reason !== undefined && { reason: p.reason }), ...(c.actor !== undefined && { actor: c.actor }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:approve_step')
  async approve(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, ApprovalDecisionPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'ApprovalGranted', runId: p.runId, stepId: p.stepId, approver: c.actor ?? UNKNOWN_ACTOR, ...approverOf(p), ...(p.comment !== undefined && { comment: p.comment }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:reject_step')
  async reject(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, ApprovalDecisionPayload, (tx, p, meta, c) =>
      this.engine.execute(tx, { type: 'ApprovalRejected', runId: p.runId, stepId: p.stepId, approver: c.actor ?? UNKNOWN_ACTOR, ...approverOf(p), ...(p.comment !== undefined && { comment: p.comment }), now: this.clock.now() }, meta),
    );
  }

  @EventPattern('cmd:requeue_dead_letter')
  async requeue(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, RequeueDeadLetterPayload, requeueWork(this.engine, this.clock));
  }

  @EventPattern('cmd:discard_dead_letter')
  async discard(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, DiscardDeadLetterPayload, discardWork(this.engine, this.clock));
  }

  @EventPattern('cmd:requeue_dead_letters')
  requeueMany(@Payload() command: CommandEnvelope): Promise<void> {
    return this.bulk.run(command, 'requeue');
  }

  @EventPattern('cmd:discard_dead_letters')
  discardMany(@Payload() command: CommandEnvelope): Promise<void> {
    return this.bulk.run(command, 'discard');
  }
}
