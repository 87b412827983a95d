import type { Queryable } from '@steward/event-store';
import type { WindowCounts } from '../domain/burn-rate';
import type { RateWindow, SignalRepository, WorkflowMeta } from './signal.repository';
import { LiveWorkflowSignals, type Baseline, type FailureStreak, type WorkflowSignals } from './workflow-signals.repository';

/** What the rules of one workflow will ask (decided from the rule set before anything is read). */
export interface WorkflowNeeds {
  workflowId: string;
  /** Runs read for the longest failure streak a rule counts (0: none). */
  streakLimit: number;
  /** Windows declared rules count runs over (success_rate). */
  windowsMs: readonly number[];
}

/** Reads that depend on settings, the same for every workflow of a load. */
export interface SnapshotSettings {
  /** Successful runs (and step attempts) read for a duration baseline: the newest plus its samples. */
  baselineLimit: number;
  /** Runs among which burn-rate alerts find their last error. */
  latestFailureWithin: number;
  /** Windows an SLO's burn-rate tiers count (read for workflows with a success objective). */
  burnWindowsMs: readonly number[];
  /** Steps with an attempt ended since then have per-step conditions. */
  stepsSince: Date;
  /** Windows per-step success rules count attempts over. */
  stepWindowsMs: readonly number[];
}

interface StepData {
  windows: Map<number, RateWindow>;
  baseline: Awaited<ReturnType<WorkflowSignals['stepBaseline']>>;
}

interface Loaded {
  streakLimit: number;
  streak: FailureStreak;
  latestFailureError: string | undefined;
  baseline: Baseline;
  deadLetters: { count: number; since: Date | null; lastError: string | null };
  stalled: { count: number; since: Date | null; last: string | null };
  windows: Map<number, WindowCounts>;
  steps: string[];
  stepData: Map<string, StepData>;
}

/**
 * The signals of many workflows read in two statements (one per workflow
 * set, one per step set) instead of ~10 per workflow: the same queries as
 * SignalRepository's, run as LATERAL subqueries over unnest($ids). The
 * answers equal what LiveWorkflowSignals would read in the same
 * transaction; a question the snapshot did not load (another limit, another
 * window, another `now`) goes to LiveWorkflowSignals.
 */
export class WorkflowSnapshotRepository {
  constructor(private readonly signals: SignalRepository) {}

  async load(tx: Queryable, needs: readonly WorkflowNeeds[], now: Date, settings: SnapshotSettings): Promise<Map<string, WorkflowSignals>> {
    const out = new Map<string, WorkflowSignals>();
    if (needs.length === 0) return out;
    const windows = [...new Set([...settings.burnWindowsMs, ...needs.flatMap((n) => n.windowsMs)])].sort((a, b) => a - b);
    const burnLongest = Math.max(0, ...settings.burnWindowsMs);
    const base = 8;
    const counts = windows.map(
      (_, k) => `count(*) FILTER (WHERE ended_at > $2::timestamptz - ($${base + k}::bigint * interval '1 millisecond')) AS t${k},
        count(*) FILTER (WHERE outcome <> 'succeeded' AND ended_at > $2::timestamptz - ($${base + k}::bigint * interval '1 millisecond')) AS b${k}`,
    );
    const { rows } = await tx.query<Record<string, any>>(
      `SELECT w.id, wf.workflow_id AS known, wf.owner, wf.runbook, wf.success_objective, wf.freshness_ms, wf.paused, wf.last_capture_at, wf.applied_at,
         (SELECT max(ended_at) FROM alerter_run_outcomes WHERE workflow_id = w.id AND outcome = 'succeeded') AS last_success_at,
         st.n AS streak_n, st.newest_error, st.oldest_at, rb.error AS latest_failure_error,
         bl.latest_run_id, bl.latest_ms, bl.latest_at, bl.earlier,
         dl.n AS dl_n, dl.since AS dl_since, dl.last_error AS dl_last_error,
         ss.n AS ss_n, ss.since AS ss_since, ss.last AS ss_last,
         (SELECT array_agg(DISTINCT a.step_id ORDER BY a.step_id) FROM alerter_step_attempts a WHERE a.workflow_id = w.id AND a.outcome IS NOT NULL AND a.ended_at > $3) AS steps,
         wc.*
       FROM unnest($1::text[], $4::int[], $5::bigint[]) AS w(id, streak_limit, longest_ms)
       LEFT JOIN alerter_workflows wf ON wf.workflow_id = w.id
       -- The newest success among the newest streak_limit runs: read newest first, it stops at the first success.
       LEFT JOIN LATERAL (
         SELECT r.ended_at, r.run_id FROM (SELECT outcome, ended_at, run_id FROM alerter_run_outcomes WHERE workflow_id = w.id ORDER BY ended_at DESC, run_id DESC LIMIT w.streak_limit) r
         WHERE r.outcome = 'succeeded' ORDER BY r.ended_at DESC, r.run_id DESC LIMIT 1
       ) ok ON true
       -- The failures newer than it (all streak_limit runs when none succeeded), bounded by its ended_at in the index.
       CROSS JOIN LATERAL (
         SELECT count(*) AS n, (array_agg(x.error ORDER BY x.ended_at DESC, x.run_id DESC))[1] AS newest_error, min(x.ended_at) AS oldest_at
         FROM (SELECT run_id, error, ended_at FROM alerter_run_outcomes
               WHERE workflow_id = w.id AND ended_at >= COALESCE(ok.ended_at, '-infinity') AND (ok.run_id IS NULL OR (ended_at, run_id) > (ok.ended_at, ok.run_id))
               ORDER BY ended_at DESC, run_id DESC LIMIT w.streak_limit) x
       ) st
       LEFT JOIN LATERAL (
         SELECT r.error FROM (SELECT outcome, error, ended_at, run_id FROM alerter_run_outcomes WHERE workflow_id = w.id AND wf.success_objective IS NOT NULL ORDER BY ended_at DESC, run_id DESC LIMIT $6) r
         WHERE r.outcome <> 'succeeded' ORDER BY r.ended_at DESC, r.run_id DESC LIMIT 1
       ) rb ON true
       CROSS JOIN LATERAL (
         -- The samples' order does not matter (a median): one ordered scan, no sort per aggregate.
         SELECT max(s.run_id) FILTER (WHERE s.rn = 1) AS latest_run_id, max(s.duration_ms) FILTER (WHERE s.rn = 1) AS latest_ms,
           max(s.ended_at) FILTER (WHERE s.rn = 1) AS latest_at, array_agg(s.duration_ms) FILTER (WHERE s.rn > 1) AS earlier
         FROM (SELECT run_id, duration_ms::float8 AS duration_ms, ended_at, row_number() OVER (ORDER BY ended_at DESC, run_id DESC) AS rn
               FROM (SELECT run_id, duration_ms, ended_at FROM alerter_run_outcomes WHERE workflow_id = w.id AND outcome = 'succeeded' ORDER BY ended_at DESC, run_id DESC LIMIT $7) s0) s
       ) bl
       CROSS JOIN LATERAL (
         SELECT count(*) AS n, min(dead_lettered_at) AS since,
           (SELECT error FROM alerter_dead_letters WHERE workflow_id = w.id AND open ORDER BY dead_lettered_at DESC LIMIT 1) AS last_error
         FROM alerter_dead_letters WHERE workflow_id = w.id AND open
       ) dl
       CROSS JOIN LATERAL (
         SELECT count(*) AS n, min(timed_out_at) AS since, max(run_id || ' step ' || step_id || ' attempt ' || attempt) AS last
         FROM alerter_stalled_steps WHERE workflow_id = w.id AND open
       ) ss
       CROSS JOIN LATERAL (
         SELECT ${counts.join(', ')} FROM alerter_run_outcomes
         WHERE workflow_id = w.id AND ended_at <= $2
           AND ended_at > $2::timestamptz - (GREATEST(w.longest_ms, CASE WHEN wf.success_objective IS NOT NULL THEN ${burnLongest}::bigint ELSE 0 END) * interval '1 millisecond')
       ) wc`,
      [
        needs.map((n) => n.workflowId),
        now,
        settings.stepsSince,
        needs.map((n) => n.streakLimit),
        needs.map((n) => Math.max(0, ...n.windowsMs)),
        settings.latestFailureWithin,
        settings.baselineLimit,
        ...windows,
      ],
    );
    const byId = new Map(needs.map((n) => [n.workflowId, n]));
    const loaded = new Map<string, { meta: WorkflowMeta | undefined; data: Loaded }>();
    for (const r of rows) {
      const need = byId.get(r.id)!;
      const meta: WorkflowMeta | undefined =
        r.known === null
          ? undefined
          : {
              workflowId: r.id,
              owner: r.owner,
              runbook: r.runbook,
              successObjective: r.success_objective,
              freshnessMs: r.freshness_ms === null ? null : Number(r.freshness_ms),
              paused: r.paused,
              lastSuccessAt: r.last_success_at,
              lastCaptureAt: r.last_capture_at,
              appliedAt: r.applied_at,
            };
      const covered = new Map<number, WindowCounts>();
      const longest = Math.max(0, ...need.windowsMs, meta?.successObjective != null ? burnLongest : 0);
      windows.forEach((w, k) => {
        if (w <= longest) covered.set(w, { total: Number(r[`t${k}`]), bad: Number(r[`b${k}`]) });
      });
      loaded.set(r.id, {
        meta,
        data: {
          streakLimit: need.streakLimit,
          streak: { count: Number(r.streak_n), newestError: r.newest_error, oldestEndedAt: r.oldest_at },
          latestFailureError: r.latest_failure_error ?? undefined,
          baseline: r.latest_run_id === null ? { latest: undefined, earlier: [] } : { latest: { runId: r.latest_run_id, durationMs: r.latest_ms, endedAt: r.latest_at }, earlier: r.earlier ?? [] },
          deadLetters: { count: Number(r.dl_n), since: r.dl_since, lastError: r.dl_last_error },
          stalled: { count: Number(r.ss_n), since: r.ss_since, last: r.ss_last },
          windows: covered,
          steps: r.steps ?? [],
          stepData: new Map(),
        },
      });
    }
    await this.loadSteps(tx, loaded, now, settings);
    for (const [id, { meta, data }] of loaded) {
      out.set(id, new SnapshotWorkflowSignals(meta, data, now, settings, new LiveWorkflowSignals(tx, this.signals, meta, id)));
    }
    return out;
  }

  /** Per-step windows and baselines of every step the workflows ran within the horizon, in one statement. */
  private async loadSteps(tx: Queryable, loaded: Map<string, { data: Loaded }>, now: Date, settings: SnapshotSettings): Promise<void> {
    const pairs = [...loaded].flatMap(([id, { data }]) => data.steps.map((step) => ({ id, step })));
    if (pairs.length === 0) return;
    const windows = [...new Set(settings.stepWindowsMs)].sort((a, b) => a - b);
    const base = 6;
    const during = (k: number) => `ended_at > $3::timestamptz - ($${base + k}::bigint * interval '1 millisecond')`;
    const cols = windows.map(
      (_, k) => `count(*) FILTER (WHERE ${during(k)}) AS t${k}, count(*) FILTER (WHERE outcome <> 'succeeded' AND ${during(k)}) AS b${k},
        min(ended_at) FILTER (WHERE outcome <> 'succeeded' AND ${during(k)}) AS f${k},
        (array_agg(error ORDER BY ended_at DESC) FILTER (WHERE outcome <> 'succeeded' AND error IS NOT NULL AND ${during(k)}))[1] AS e${k}`,
    );
    const { rows } = await tx.query<Record<string, any>>(
      `SELECT p.id, p.step, sw.*, sb.latest_run_id, sb.latest_attempt, sb.latest_ms, sb.latest_at, sb.earlier
       FROM unnest($1::text[], $2::text[]) AS p(id, step)
       CROSS JOIN LATERAL (
         SELECT ${cols.join(', ')} FROM alerter_step_attempts
         WHERE workflow_id = p.id AND step_id = p.step AND outcome IS NOT NULL AND ended_at <= $3 AND ended_at > $3::timestamptz - ($4::bigint * interval '1 millisecond')
       ) sw
       CROSS JOIN LATERAL (
         SELECT max(s.run_id) FILTER (WHERE s.rn = 1) AS latest_run_id, max(s.attempt) FILTER (WHERE s.rn = 1) AS latest_attempt,
           max(s.duration_ms) FILTER (WHERE s.rn = 1) AS latest_ms, max(s.ended_at) FILTER (WHERE s.rn = 1) AS latest_at,
           array_agg(s.duration_ms) FILTER (WHERE s.rn > 1) AS earlier
         FROM (SELECT run_id, attempt, duration_ms::float8 AS duration_ms, ended_at, row_number() OVER (ORDER BY ended_at DESC, run_id DESC) AS rn
               FROM (SELECT run_id, attempt, duration_ms, ended_at FROM alerter_step_attempts
                     WHERE workflow_id = p.id AND step_id = p.step AND outcome = 'succeeded' AND duration_ms IS NOT NULL ORDER BY ended_at DESC, run_id DESC LIMIT $5) s0) s
       ) sb`,
      [pairs.map((p) => p.id), pairs.map((p) => p.step), now, Math.max(0, ...windows), settings.baselineLimit, ...windows],
    );
    for (const r of rows) {
      const data = loaded.get(r.id)!.data;
      const w = new Map<number, RateWindow>();
      windows.forEach((ms, k) => w.set(ms, { total: Number(r[`t${k}`]), bad: Number(r[`b${k}`]), firstBadAt: r[`f${k}`], lastError: r[`e${k}`] }));
      data.stepData.set(r.step, {
        windows: w,
        baseline:
          r.latest_run_id === null
            ? { latest: undefined, earlier: [] }
            : { latest: { runId: r.latest_run_id, attempt: r.latest_attempt, durationMs: r.latest_ms, endedAt: r.latest_at }, earlier: r.earlier ?? [] },
      });
    }
  }
}

class SnapshotWorkflowSignals implements WorkflowSignals {
  constructor(
    readonly meta: WorkflowMeta | undefined,
    private readonly d: Loaded,
    private readonly now: Date,
    private readonly settings: SnapshotSettings,
    private readonly live: LiveWorkflowSignals,
  ) {}

  async failureStreak(limit: number) {
    return limit === this.d.streakLimit ? this.d.streak : this.live.failureStreak(limit);
  }

  async latestFailureError(within: number) {
    return within === this.settings.latestFailureWithin && this.meta?.successObjective != null ? this.d.latestFailureError : this.live.latestFailureError(within);
  }

  async baseline(limit: number) {
    return limit === this.settings.baselineLimit ? this.d.baseline : this.live.baseline(limit);
  }

  async openDeadLetters() {
    return this.d.deadLetters;
  }

  async openStalledSteps() {
    return this.d.stalled;
  }

  async windowCounts(now: Date, windowsMs: readonly number[]) {
    if (now.getTime() !== this.now.getTime() || !windowsMs.every((w) => this.d.windows.has(w))) return this.live.windowCounts(now, windowsMs);
    return new Map(windowsMs.map((w) => [w, this.d.windows.get(w)!]));
  }

  async activeSteps(since: Date) {
    return since.getTime() === this.settings.stepsSince.getTime() ? this.d.steps : this.live.activeSteps(since);
  }

  async stepWindow(stepId: string, now: Date, windowMs: number) {
    const loaded = now.getTime() === this.now.getTime() ? this.d.stepData.get(stepId)?.windows.get(windowMs) : undefined;
    return loaded ?? this.live.stepWindow(stepId, now, windowMs);
  }

  async stepBaseline(stepId: string, limit: number) {
    const loaded = limit === this.settings.baselineLimit ? this.d.stepData.get(stepId)?.baseline : undefined;
    return loaded ?? this.live.stepBaseline(stepId, limit);
  }
}
