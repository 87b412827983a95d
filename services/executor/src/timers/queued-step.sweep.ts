import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';
import type { Logger } from '@steward/observability';
import { runStreamId } from '@steward/workflow';
import type { Clock, Random } from '../clock';
import type { RunEngine } from '../runs/run.engine';

export interface QueuedStepSweepOptions {
  /** EXECUTOR_SCHEDULE_TO_START_MS: how long an attempt may stay queued; 0 turns the guard off. */
  defaultMs: number;
  /** How often to look (ms). */
  intervalMs: number;
  /** Most attempts timed out per look. */
  limit?: number;
}

const ACTOR = 'steward:executor';

// Open runs only (the executor_runs_open partial index), their queued
// attempts queued before the cutoff. The correlation id of a run is its
// first event's.
const QUEUED_TOO_LONG = `
  SELECT s.run_id, s.step_id, s.attempt,
         (SELECT e.correlation_id FROM events e WHERE e.stream_id = $3 || s.run_id ORDER BY e.stream_version LIMIT 1) AS correlation_id
  FROM executor_runs r
  JOIN executor_steps s ON s.run_id = r.run_id
  JOIN executor_step_attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id AND a.attempt = s.attempt
  WHERE r.status IN ('pending', 'queued', 'running', 'awaiting_approval') AND r.requested_at < $1
    AND s.status = 'queued' AND s.kind <> 'approval' AND a.queued_at < $1
  ORDER BY a.queued_at LIMIT $2`;

/**
 * The executor's default schedule-to-start guard: an attempt queued longer
 * than EXECUTOR_SCHEDULE_TO_START_MS (1 h) on a queue nobody serves times
 * out and takes its retry policy, as a step's own `scheduleToStart` timer
 * does. A sweep of the projection rather than a durable timer per attempt:
 * nearly every attempt starts within seconds, and each such timer cost an
 * event, a delivery and a scheduler row at dispatch, and a fire, a delivery
 * and a decision an hour later, for nothing. The projection is durable, so
 * the guard survives restarts as a timer would; it is at most `intervalMs`
 * late. Every replica sweeps; two deciding on one attempt is one
 * `step.timed_out` (the decider ignores a step no longer queued), and a step
 * with a `scheduleToStart` of its own is left to its timer (`byDefault`).
 */
export class QueuedStepSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly engine: RunEngine,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly logger: Logger,
    private readonly options: QueuedStepSweepOptions,
  ) {}

  start(): void {
    if (this.options.defaultMs <= 0) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One look: the attempts it timed out. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.options.defaultMs);
    const { rows } = await this.pool.query<{ run_id: string; step_id: string; attempt: number; correlation_id: string | null }>(QUEUED_TOO_LONG, [
      cutoff,
      this.options.limit ?? 200,
      runStreamId(''),
    ]);
    let timedOut = 0;
    for (const r of rows) {
      if (this.stopped) break;
      try {
        const events = await unitOfWork(this.pool, (tx) =>
          this.engine.execute(
            tx,
            { type: 'StepTimedOut', runId: r.run_id, stepId: r.step_id, attempt: r.attempt, timeout: 'schedule_to_start', byDefault: true, now: this.clock.now(), random: this.random() },
            { correlationId: r.correlation_id ?? r.run_id, actor: ACTOR },
          ),
        );
        if (events.length > 0) timedOut++;
      } catch (err) {
        this.logger.warn('queued attempt not timed out; next sweep retries', { err, runId: r.run_id, stepId: r.step_id, attempt: r.attempt });
      }
    }
    if (timedOut > 0) this.logger.info('attempts queued past the schedule-to-start default timed out', { timedOut, defaultMs: this.options.defaultMs });
    return timedOut;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .catch((err: unknown) => this.logger.warn('schedule-to-start sweep failed; next one retries', { err }))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
