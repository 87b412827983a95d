import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { CommandEnvelope } from '@steward/messaging';
import { CLOCK, RANDOM } from '../executor.tokens';
import type { Clock, Random } from '../clock';
import { RunProjectionRepository } from '../projection/run-projection.repository';
import { RunEngine } from '../runs/run.engine';
import { CommandRunner } from '@steward/runtime';
import { HeartbeatPayload, StepResultPayload, StepStartedPayload } from './command.schemas';

/** What workers report about the attempts they run (docs/execution-contract.md). */
@Controller()
export class WorkerCommandsController {
  constructor(
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(RunEngine) private readonly engine: RunEngine,
    @Inject(RunProjectionRepository) private readonly runs: RunProjectionRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(RANDOM) private readonly random: Random,
  ) {}

  @EventPattern('cmd:report_step_started')
  async started(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, StepStartedPayload, (tx, p, meta) =>
      this.engine.execute(tx, { type: 'StartStep', runId: p.runId, stepId: p.stepId, attempt: p.attempt, ...(p.workerId !== undefined && { worker: p.workerId }), now: this.clock.now() }, meta),
    );
  }

  /**
   * No event per beat, not even `command.accepted`: the projection keeps the
   * last one and the heartbeat timer reads it; the worker does not wait for
   * an outcome. A malformed beat is still recorded as `command.rejected`.
   */
  @EventPattern('cmd:heartbeat_step')
  async heartbeat(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(
      command,
      HeartbeatPayload,
      async (tx, p) => {
        await this.runs.recordHeartbeat(tx, p.runId, p.stepId, p.attempt, this.clock.now());
        return [];
      },
      { quietWhenAccepted: true },
    );
  }

  @EventPattern('cmd:report_step_result')
  async result(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, StepResultPayload, (tx, p, meta) => {
      const base = { runId: p.runId, stepId: p.stepId, attempt: p.attempt, now: this.clock.now(), ...(p.reportedUsage !== undefined && { reportedUsage: p.reportedUsage }) };
      const usage = p.usage as Record<string, number> | undefined;
      return this.engine.execute(
        tx,
        p.outcome.status === 'succeeded'
          ? { type: 'StepSucceeded', ...base, outputs: p.outcome.outputs, ...(usage !== undefined && { usage }) }
          : { type: 'StepFailed', ...base, error: p.outcome.error, ...(usage !== undefined && { usage }), random: this.random() },
        meta,
      );
    });
  }
}
