import type { Logger, Metrics } from '@steward/observability';
import type { Clock } from '../clock';
import type { TimerScheduler } from '../timers/timer.scheduler';
import type { OccurrenceScheduler } from './occurrence.scheduler';

export interface TickResult {
  runsRequested: number;
  timersFired: number;
}

/**
 * The scheduler's heartbeat: every period, fire what is due by the injected
 * clock. Ticks never overlap on one replica; replicas tick independently and
 * share the work through row locks, never relying on a leader.
 */
export class TickLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickResult> | undefined;
  private lastSuccess = performance.now();
  private readonly duration: ReturnType<Metrics['histogram']>;

  constructor(
    private readonly occurrences: OccurrenceScheduler,
    private readonly timers: TimerScheduler,
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.duration = metrics.histogram('steward_scheduler_tick_duration_seconds', 'Duration of one scheduler tick.', ['outcome']);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.tick().catch((err: unknown) => this.logger.error('scheduler tick failed', { err }));
    }, this.periodMs);
  }

  /** Stops the loop and waits for a tick in progress, so nothing writes after the pool closes. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One tick now (also how tests drive time); joins a tick already in progress. */
  tick(): Promise<TickResult> {
    this.running ??= this.runTick().finally(() => (this.running = undefined));
    return this.running;
  }

  /** For /readyz: a loop whose ticks keep failing (database away) is not doing its job. */
  healthy(): boolean {
    return performance.now() - this.lastSuccess < Math.max(30_000, this.periodMs * 10);
  }

  private async runTick(): Promise<TickResult> {
    const started = performance.now();
    const now = this.clock.now();
    try {
      const runsRequested = await this.occurrences.fireDue(now);
      const timersFired = await this.timers.fireDue(now);
      this.lastSuccess = performance.now();
      this.duration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      return { runsRequested, timersFired };
    } catch (err) {
      this.duration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      throw err;
    }
  }
}
