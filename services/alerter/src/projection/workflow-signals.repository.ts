import type { Queryable } from '@steward/event-store';
import type { WindowCounts } from '../domain/burn-rate';
import type { RateWindow, SignalRepository, WorkflowMeta } from './signal.repository';

/** Failed runs newer than the newest success, among the newest `limit` runs (a streak longer than `limit` reads as `limit`). */
export interface FailureStreak {
  count: number;
  /** Error of the newest failure. */
  newestError: string | null;
  /** When the oldest failure of the streak ended. */
  oldestEndedAt: Date | null;
}

/** The newest success and the durations of the ones before it (newest first). */
export interface Baseline {
  latest: { runId: string; durationMs: number; endedAt: Date } | undefined;
  earlier: number[];
}

/** What the workflow rules read about one workflow. */
export interface WorkflowSignals {
  readonly meta: WorkflowMeta | undefined;
  failureStreak(limit: number): Promise<FailureStreak>;
  /** The error of the newest failed run among the newest `within` runs (undefined: none failed, or no error). */
  latestFailureError(within: number): Promise<string | undefined>;
  baseline(limit: number): Promise<Baseline>;
  openDeadLetters(): Promise<{ count: number; since: Date | null; lastError: string | null }>;
  openStalledSteps(): Promise<{ count: number; since: Date | null; last: string | null }>;
  windowCounts(now: Date, windowsMs: readonly number[]): Promise<Map<number, WindowCounts>>;
  activeSteps(since: Date): Promise<string[]>;
  stepWindow(stepId: string, now: Date, windowMs: number): Promise<RateWindow>;
  stepBaseline(stepId: string, limit: number): Promise<Baseline & { latest: (Baseline['latest'] & { attempt: number }) | undefined }>;
}

/** One query per question, in the caller's transaction (the ticker, and whatever a snapshot did not load). */
export class LiveWorkflowSignals implements WorkflowSignals {
  constructor(
    private readonly tx: Queryable,
    private readonly signals: SignalRepository,
    readonly meta: WorkflowMeta | undefined,
    private readonly workflowId: string,
  ) {}

  async failureStreak(limit: number): Promise<FailureStreak> {
    const runs = await this.signals.recentRuns(this.tx, this.workflowId, limit);
    const streak = runs.findIndex((r) => r.outcome === 'succeeded');
    const failed = streak === -1 ? runs : runs.slice(0, streak);
    return { count: failed.length, newestError: failed[0]?.error ?? null, oldestEndedAt: failed.at(-1)?.endedAt ?? null };
  }

  async latestFailureError(within: number): Promise<string | undefined> {
    return (await this.signals.recentRuns(this.tx, this.workflowId, within)).find((r) => r.outcome !== 'succeeded')?.error ?? undefined;
  }

  async baseline(limit: number): Promise<Baseline> {
    const [latest, ...earlier] = await this.signals.successfulDurations(this.tx, this.workflowId, limit);
    return { latest, earlier: earlier.map((s) => s.durationMs) };
  }

  openDeadLetters() {
    return this.signals.openDeadLetters(this.tx, this.workflowId);
  }

  openStalledSteps() {
    return this.signals.openStalledSteps(this.tx, this.workflowId);
  }

  windowCounts(now: Date, windowsMs: readonly number[]) {
    return this.signals.windowCounts(this.tx, this.workflowId, now, windowsMs);
  }

  activeSteps(since: Date) {
    return this.signals.activeSteps(this.tx, this.workflowId, since);
  }

  stepWindow(stepId: string, now: Date, windowMs: number) {
    return this.signals.stepWindow(this.tx, this.workflowId, stepId, now, windowMs);
  }

  async stepBaseline(stepId: string, limit: number) {
    const [latest, ...earlier] = await this.signals.stepDurations(this.tx, this.workflowId, stepId, limit);
    return { latest, earlier: earlier.map((s) => s.durationMs) };
  }
}
