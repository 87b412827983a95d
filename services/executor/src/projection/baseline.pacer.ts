import type { Pool } from 'pg';
import { unitOfWork, type Queryable } from '@steward/event-store';
import type { BaselineRepository } from './baseline.repository';

interface Trailing {
  /** The latest success it covers: the baselines' updated_at. */
  at: string;
  timer: NodeJS.Timeout;
}

/**
 * Paces the duration-baseline refreshes of report batches. A refresh reads
 * a workflow's last N successful runs and their steps (about 2 ms on the
 * 2-core machine); a replica taking reports a batch at a time refreshed once
 * a batch, which at a few hundred runs a second was several percent of
 * Postgres. Now a workflow is refreshed in a batch's transaction at most
 * once per `intervalMs` per replica; a success inside the interval is
 * counted by a refresh of its own, in its own transaction, when the interval
 * ends (or at shutdown, `flush`). Baselines are thus at most `intervalMs`
 * behind the runs; the alerter compares durations over minutes. A trailing
 * refresh that fails is logged and left to the next success.
 */
export class BaselinePacer {
  private readonly last = new Map<string, number>();
  private readonly trailing = new Map<string, Trailing>();

  constructor(
    private readonly pool: Pool,
    private readonly baselines: BaselineRepository,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown, workflowId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** In a batch's transaction, once its rows are written: refresh now, or at the end of the interval. */
  async refresh(tx: Queryable, workflowId: string, at: string): Promise<void> {
    const now = this.now();
    const since = now - (this.last.get(workflowId) ?? -Infinity);
    if (since < this.intervalMs) return this.later(workflowId, at, this.intervalMs - since);
    this.last.set(workflowId, now);
    // Reads every committed run as well: a trailing refresh waiting for this workflow has nothing left to count.
    const pending = this.trailing.get(workflowId);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.trailing.delete(workflowId);
    }
    await this.baselines.refresh(tx, workflowId, pending !== undefined && pending.at > at ? pending.at : at);
  }

  /** Runs the trailing refreshes now (shutdown). */
  async flush(): Promise<void> {
    for (const [workflowId, pending] of [...this.trailing]) {
      clearTimeout(pending.timer);
      await this.fire(workflowId);
    }
  }

  private later(workflowId: string, at: string, delayMs: number): void {
    const pending = this.trailing.get(workflowId);
    if (pending !== undefined) {
      if (at > pending.at) pending.at = at;
      return;
    }
    const timer = setTimeout(() => void this.fire(workflowId), delayMs);
    timer.unref();
    this.trailing.set(workflowId, { at, timer });
  }

  private async fire(workflowId: string): Promise<void> {
    const pending = this.trailing.get(workflowId);
    if (pending === undefined) return;
    this.trailing.delete(workflowId);
    this.last.set(workflowId, this.now());
    try {
      await unitOfWork(this.pool, (tx) => this.baselines.refresh(tx, workflowId, pending.at));
    } catch (err) {
      this.onError(err, workflowId);
    }
  }
}
