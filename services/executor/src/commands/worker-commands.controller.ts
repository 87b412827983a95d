import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { InboxBatcher } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { CLOCK, RANDOM, WORKER_REPORTS } from '../executor.tokens';
import type { Clock, Random } from '../clock';
import { RunProjectionRepository } from '../projection/run-projection.repository';
import { RunEngine } from '../runs/run.engine';
import { CommandRunner } from '@steward/runtime';
import type { BatchedCommand } from './command.batcher';
import { HeartbeatPayload, StepResultPayload, StepStartedPayload } from './command.schemas';

/**
 * What workers report about the attempts they run (docs/execution-contract.md).
 * Reports delivered together share a transaction (commandBatcher); each
 * handler resolves once its command's outcome is committed, so the message
 * is acked after that, as with a transaction of its own. Only a command
 * alone in its transaction takes a savepoint (commandBatcher).
 */
@Controller()
export class WorkerCommandsController {
  constructor(
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(RunProjectionRepository) private readonly runs: RunProjectionRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(RANDOM) private readonly random: Random,
    @Inject(WORKER_REPORTS) private readonly reports: InboxBatcher<BatchedCommand>,
  ) {}

  @EventPattern('cmd:report_step_started')
  async started(@Payload() command: CommandEnvelope): Promise<void> {
    await this.batched(command, (tx, alone, later) =>
      this.commands.runInTransaction(
        tx,
        command,
        StepStartedPayload,
        (tx, p, meta) =>
          this.engine.execute(
            tx,
            { type: 'StartStep', runId: p.runId, stepId: p.stepId, attempt: p.attempt, ...(p.workerId !== undefined && { worker: p.workerId }), now: this.clock.now() },
            meta,
            { ...(later !== undefined && { later }) },
          ),
        { savepoint: alone },
      ),
    );
  }

  /**
   * No event per beat, not even `command.accepted`: the projection keeps the
   * last one and the heartbeat timer reads it; the worker does not wait for
   * an outcome. A malformed beat is still recorded as `command.rejected`.
   */
  @EventPattern('cmd:heartbeat_step')
  async heartbeat(@Payload() command: CommandEnvelope): Promise<void> {
    await this.batched(command, (tx, alone) =>
      this.commands.runInTransaction(
        tx,
        command,
        HeartbeatPayload,
        async (tx, p) => {
          await this.runs.recordHeartbeat(tx, p.runId, p.stepId, p.attempt, this.clock.now());
          return [];
        },
        { quietWhenAccepted: true, savepoint: alone },
      ),
    );
  }

  @EventPattern('cmd:report_step_result')
  async result(@Payload() command: CommandEnvelope): Promise<void> {
    await this.batched(command, (tx, alone, later) =>
      this.commands.runInTransaction(
        tx,
        command,
        StepResultPayload,
        (tx, p, meta) => {
          const base = { runId: p.runId, stepId: p.stepId, attempt: p.attempt, now: this.clock.now(), ...(p.reportedUsage !== undefined && { reportedUsage: p.reportedUsage }) };
          const usage = p.usage as Record<string, number> | undefined;
          return this.engine.execute(
            tx,
            p.outcome.status === 'succeeded'
              ? { type: 'StepSucceeded', ...base, outputs: p.outcome.outputs, ...(usage !== undefined && { usage }) }
              : { type: 'StepFailed', ...base, error: p.outcome.error, ...(usage !== undefined && { usage }), random: this.random() },
            meta,
            { ...(later !== undefined && { later }) },
          );
        },
        { savepoint: alone },
      ),
    );
  }

  private async batched(command: CommandEnvelope, run: BatchedCommand['run']): Promise<void> {
    await this.reports.submit({ command, run });
  }
}
