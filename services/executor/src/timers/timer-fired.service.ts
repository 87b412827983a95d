import type { EventData, EventMetadata, TimerFired } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import { runStreamId, type RunCommand } from '@steward/workflow';
import type { Clock, Random } from '../clock';
import type { RunProjectionRepository } from '../projection/run-projection.repository';
import type { RunEngine } from '../runs/run.engine';
import { TIMER_OWNER, TimerPayloadSchema, timerRequest, type TimerPayload } from './run-timers.plan';

export type FiredTimer = EventData<typeof TimerFired>;

export type TimerOutcome = 'decided' | 'stale' | 'rearmed' | 'ignored';

/**
 * A timer the executor asked for came due. Each kind becomes the run
 * command it stands for; the decider ignores a timer that lost the race
 * with a result (the step moved on), so a stale timer changes nothing.
 */
export class TimerFiredService {
  constructor(
    private readonly store: EventStore,
    private readonly engine: RunEngine,
    private readonly runs: RunProjectionRepository,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async fire(tx: Queryable, timer: FiredTimer, metadata: EventMetadata): Promise<TimerOutcome> {
    if (timer.owner !== TIMER_OWNER) return 'ignored';
    const parsed = TimerPayloadSchema.safeParse(timer.payload);
    if (!parsed.success) return 'ignored';
    const p = parsed.data;
    const now = this.clock.now();
    if (p.kind === 'heartbeat' && (await this.stillBeating(tx, p, now, metadata))) return 'rearmed';
    const events = await this.engine.execute(tx, this.commandOf(p, now), metadata);
    return events.length > 0 ? 'decided' : 'stale';
  }

  private commandOf(p: TimerPayload, now: Date): RunCommand {
    const step = { runId: p.runId, stepId: p.stepId ?? '', now };
    switch (p.kind) {
      case 'retry':
        return { type: 'RetryDue', ...step, attempt: p.attempt ?? 0 };
      case 'schedule_to_start':
      case 'start_to_close':
      case 'heartbeat':
        return { type: 'StepTimedOut', ...step, attempt: p.attempt ?? 0, timeout: p.kind, random: this.random() };
      case 'approval':
        return { type: 'ApprovalTimedOut', ...step };
      case 'run_timeout':
        return { type: 'TimeOutRun', runId: p.runId, now };
      default: {
        const unknown: never = p.kind;
        throw new Error(`unknown timer kind ${String(unknown)}`);
      }
    }
  }

  /**
   * Heartbeats are not events (a long task may send thousands); the
   * projection keeps the last one. A heartbeat timer that finds a recent
   * heartbeat arms the next one at last heartbeat + interval, so a task that
   * stops beating times out one interval after its last sign of life.
   */
  private async stillBeating(tx: Queryable, p: TimerPayload, now: Date, metadata: EventMetadata): Promise<boolean> {
    const step = await this.runs.stepProgress(tx, p.runId, p.stepId ?? '');
    if (step === undefined || step.status !== 'running' || step.attempt !== p.attempt || step.heartbeatMs === null) return false;
    const deadline = (step.lastHeartbeatAt?.getTime() ?? 0) + step.heartbeatMs;
    if (deadline <= now.getTime()) return false;
    const next = timerRequest({ ...p, seq: (p.seq ?? 1) + 1 }, new Date(deadline).toISOString(), { metadata });
    await this.store.append(runStreamId(p.runId), [{ ...next, metadata: { ...metadata, runId: p.runId } }], { expected: 'any', tx });
    return true;
  }
}
