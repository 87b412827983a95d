import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';
import type { Logger } from '@steward/observability';
import type { Clock } from './clock';
import type { CommandOutbox } from './alerts/command.outbox';
import type { EvaluationService } from './alerts/evaluation.service';
import type { ResponseMetrics } from './alerts/response.metrics';
import type { AlertCommands } from './commands/alert-commands.service';
import type { DeliveryService } from './notify/delivery.service';
import type { NotificationPlanner } from './notify/notification.planner';

export interface TickerParts {
  pool: Pool;
  clock: Clock;
  evaluation: EvaluationService;
  commands: AlertCommands;
  planner: NotificationPlanner;
  delivery: DeliveryService;
  outbox: CommandOutbox;
  response: ResponseMetrics;
  logger: Logger;
}

/**
 * The alerter's time-driven work, besides messages: evaluating conditions
 * that change with time alone (every evalIntervalMs), and flushing due
 * notification groups, delivering the outbox and sending queued commands
 * (every dispatchIntervalMs). Tests call evaluate() and dispatch() with an
 * injected clock instead of waiting for the loops.
 */
export class AlerterTicker {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly p: TickerParts,
    private readonly evalIntervalMs: number,
    private readonly dispatchIntervalMs: number,
  ) {}

  start(): void {
    this.loop('evaluate', () => this.evaluate(), this.evalIntervalMs);
    this.loop('dispatch', () => this.dispatch(), this.dispatchIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    await Promise.allSettled([...this.running]);
  }

  /** Time-based conditions, silence ends and the response metrics. */
  async evaluate(): Promise<void> {
    await this.p.evaluation.evaluateAll();
    await unitOfWork(this.p.pool, (tx) => this.p.commands.expireEnded(tx, this.p.clock.now()));
    await this.p.response.refresh();
  }

  /** Due groups into the outbox, the outbox to the receivers, queued commands to their services. */
  async dispatch(): Promise<void> {
    const rules = await this.p.evaluation.ruleSet(this.p.pool);
    while (await unitOfWork(this.p.pool, (tx) => this.p.planner.flushOne(tx, rules, this.p.clock.now())));
    while ((await this.p.delivery.deliverDue()) > 0 && !this.stopped);
    await this.p.outbox.flush();
  }

  /** Runs `work` every intervalMs, never overlapping itself; a failure is logged and retried next round. */
  private loop(name: string, work: () => Promise<void>, intervalMs: number): void {
    const round = () => {
      if (this.stopped) return;
      const run = work()
        .catch((err) => this.p.logger.error('alerter background work failed', { err }))
        .finally(() => {
          this.running.delete(run);
          if (!this.stopped) this.timers.set(name, setTimeout(round, intervalMs));
        });
      this.running.add(run);
    };
    this.timers.set(name, setTimeout(round, intervalMs));
  }
}
