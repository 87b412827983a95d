import type { Queryable } from '@steward/event-store';
import type { WindowCounts } from '../domain/burn-rate';

export interface WorkflowMeta {
  workflowId: string;
  owner: string;
  runbook: string;
  successObjective: number | null;
  freshnessMs: number | null;
  paused: boolean;
  lastSuccessAt: Date | null;
  lastCaptureAt: Date | null;
  appliedAt: Date;
}

export interface RunOutcome {
  runId: string;
  workflowId: string;
  outcome: 'succeeded' | 'failed' | 'timed_out';
  durationMs: number;
  error: string | null;
  endedAt: Date;
}

export interface StepOutcome {
  runId: string;
  stepId: string;
  attempt: number;
  workflowId: string;
  outcome: 'succeeded' | 'failed' | 'timed_out';
  error: string | null;
  endedAt: Date;
}

/** Outcomes in one window: how many, how many bad, since when, and the newest error. */
export interface RateWindow {
  total: number;
  bad: number;
  firstBadAt: Date | null;
  lastError: string | null;
}

function rateWindow(r: { total: string; bad: string; first_bad: Date | null; last_error: string | null } | undefined): RateWindow {
  return { total: Number(r?.total ?? 0), bad: Number(r?.bad ?? 0), firstBadAt: r?.first_bad ?? null, lastError: r?.last_error ?? null };
}

export interface BudgetRow {
  scope: string;
  id: string;
  period: string;
  threshold: string;
  state: 'ALARM' | 'OK';
  owner: string | null;
  workflowId: string | null;
  spentMicros: bigint;
  budgetMicros: bigint;
  forecastMicros: bigint;
  at: Date;
}

/**
 * The signals the alerter derives from events: workflow ownership and SLOs,
 * run outcomes and durations, open dead letters, budget states and receiver
 * health. Written by the signal projector, read by the rule evaluator.
 */
export class SignalRepository {
  async upsertWorkflow(tx: Queryable, w: Omit<WorkflowMeta, 'paused' | 'lastSuccessAt' | 'lastCaptureAt'> & { monthlyBudgetUsd: number | null }): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_workflows (workflow_id, owner, runbook, success_objective, freshness_ms, monthly_budget_usd, applied_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (workflow_id) DO UPDATE SET owner = EXCLUDED.owner, runbook = EXCLUDED.runbook, success_objective = EXCLUDED.success_objective,
         freshness_ms = EXCLUDED.freshness_ms, monthly_budget_usd = EXCLUDED.monthly_budget_usd, applied_at = EXCLUDED.applied_at`,
      [w.workflowId, w.owner, w.runbook, w.successObjective, w.freshnessMs, w.monthlyBudgetUsd, w.appliedAt],
    );
  }

  async setPaused(tx: Queryable, workflowId: string, paused: boolean): Promise<void> {
    await tx.query(`UPDATE alerter_workflows SET paused = $2 WHERE workflow_id = $1`, [workflowId, paused]);
  }

  async workflow(tx: Queryable, workflowId: string): Promise<WorkflowMeta | undefined> {
    const { rows } = await tx.query<{ workflow_id: string; owner: string; runbook: string; success_objective: number | null; freshness_ms: string | null; paused: boolean; last_success_at: Date | null; last_capture_at: Date | null; applied_at: Date }>(
      `SELECT w.*, (SELECT max(ended_at) FROM alerter_run_outcomes WHERE workflow_id = w.workflow_id AND outcome = 'succeeded') AS last_success_at
       FROM alerter_workflows w WHERE w.workflow_id = $1`,
      [workflowId],
    );
    const r = rows[0];
    return (
      r && {
        workflowId: r.workflow_id,
        owner: r.owner,
        runbook: r.runbook,
        successObjective: r.success_objective,
        freshnessMs: r.freshness_ms === null ? null : Number(r.freshness_ms),
        paused: r.paused,
        lastSuccessAt: r.last_success_at,
        lastCaptureAt: r.last_capture_at,
        appliedAt: r.applied_at,
      }
    );
  }

  async workflowIds(tx: Queryable): Promise<string[]> {
    const { rows } = await tx.query<{ workflow_id: string }>(`SELECT workflow_id FROM alerter_workflows ORDER BY workflow_id`);
    return rows.map((r) => r.workflow_id);
  }

  /** Returns false when the run was recorded before (a replayed event changes nothing). */
  async recordRun(tx: Queryable, o: RunOutcome): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO alerter_run_outcomes (run_id, workflow_id, outcome, duration_ms, error, ended_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING`,
      [o.runId, o.workflowId, o.outcome, o.durationMs, o.error, o.endedAt],
    );
    return (rowCount ?? 0) > 0;
  }

  async recordCapture(tx: Queryable, workflowId: string, at: Date): Promise<void> {
    await tx.query(`UPDATE alerter_workflows SET last_capture_at = GREATEST(COALESCE(last_capture_at, $2), $2) WHERE workflow_id = $1`, [workflowId, at]);
  }

  /** Runs and bad runs (failed, timed out) that ended in each window before `now`. */
  async windowCounts(tx: Queryable, workflowId: string, now: Date, windowsMs: readonly number[]): Promise<Map<number, WindowCounts>> {
    const cols = windowsMs.map((_, i) => `count(*) FILTER (WHERE ended_at > $2::timestamptz - ($${i + 3}::bigint * interval '1 millisecond')) AS t${i},
      count(*) FILTER (WHERE outcome <> 'succeeded' AND ended_at > $2::timestamptz - ($${i + 3}::bigint * interval '1 millisecond')) AS b${i}`);
    const longest = Math.max(...windowsMs);
    const { rows } = await tx.query<Record<string, string>>(
      `SELECT ${cols.join(', ')} FROM alerter_run_outcomes WHERE workflow_id = $1 AND ended_at <= $2 AND ended_at > $2::timestamptz - ($${windowsMs.length + 3}::bigint * interval '1 millisecond')`,
      [workflowId, now, ...windowsMs, longest],
    );
    const out = new Map<number, WindowCounts>();
    windowsMs.forEach((w, i) => out.set(w, { total: Number(rows[0]?.[`t${i}`] ?? 0), bad: Number(rows[0]?.[`b${i}`] ?? 0) }));
    return out;
  }

  /** The newest runs, newest first (bounded: a streak longer than `limit` reads as `limit`). */
  async recentRuns(tx: Queryable, workflowId: string, limit: number): Promise<RunOutcome[]> {
    const { rows } = await tx.query<{ run_id: string; workflow_id: string; outcome: RunOutcome['outcome']; duration_ms: string; error: string | null; ended_at: Date }>(
      `SELECT run_id, workflow_id, outcome, duration_ms, error, ended_at FROM alerter_run_outcomes WHERE workflow_id = $1 ORDER BY ended_at DESC, run_id DESC LIMIT $2`,
      [workflowId, limit],
    );
    return rows.map((r) => ({ runId: r.run_id, workflowId: r.workflow_id, outcome: r.outcome, durationMs: Number(r.duration_ms), error: r.error, endedAt: r.ended_at }));
  }

  async successfulDurations(tx: Queryable, workflowId: string, limit: number): Promise<Array<{ runId: string; durationMs: number; endedAt: Date }>> {
    const { rows } = await tx.query<{ run_id: string; duration_ms: string; ended_at: Date }>(
      `SELECT run_id, duration_ms, ended_at FROM alerter_run_outcomes WHERE workflow_id = $1 AND outcome = 'succeeded' ORDER BY ended_at DESC, run_id DESC LIMIT $2`,
      [workflowId, limit],
    );
    return rows.map((r) => ({ runId: r.run_id, durationMs: Number(r.duration_ms), endedAt: r.ended_at }));
  }

  /** Records the dead letter and returns the service its step targeted (from its step.queued), when known. */
  async recordDeadLetter(tx: Queryable, d: { runId: string; stepId: string; workflowId: string; error: string | null; at: Date }): Promise<string | null> {
    const { rows } = await tx.query<{ service: string | null }>(
      `INSERT INTO alerter_dead_letters (run_id, step_id, workflow_id, error, dead_lettered_at, open, service)
       VALUES ($1, $2, $3, $4, $5, true,
         (SELECT service FROM alerter_step_attempts WHERE run_id = $1 AND step_id = $2 AND service IS NOT NULL ORDER BY attempt DESC LIMIT 1))
       ON CONFLICT (run_id, step_id) DO UPDATE SET open = true, error = EXCLUDED.error, dead_lettered_at = EXCLUDED.dead_lettered_at,
         service = COALESCE(EXCLUDED.service, alerter_dead_letters.service)
       RETURNING service`,
      [d.runId, d.stepId, d.workflowId, d.error, d.at],
    );
    return rows[0]?.service ?? null;
  }

  /** Closes the dead letter and returns the service its step targeted, when known. */
  async closeDeadLetter(tx: Queryable, runId: string, stepId: string): Promise<string | null> {
    const { rows } = await tx.query<{ service: string | null }>(`UPDATE alerter_dead_letters SET open = false WHERE run_id = $1 AND step_id = $2 RETURNING service`, [runId, stepId]);
    return rows[0]?.service ?? null;
  }

  /** Open dead letters of steps that targeted one service, across workflows. */
  async openDeadLettersOfService(tx: Queryable, service: string): Promise<{ count: number; workflows: number; since: Date | null; lastError: string | null }> {
    const { rows } = await tx.query<{ count: string; workflows: string; since: Date | null; last_error: string | null }>(
      `SELECT count(*) AS count, count(DISTINCT workflow_id) AS workflows, min(dead_lettered_at) AS since,
         (SELECT workflow_id || '/' || COALESCE(error, step_id) FROM alerter_dead_letters WHERE service = $1 AND open ORDER BY dead_lettered_at DESC LIMIT 1) AS last_error
       FROM alerter_dead_letters WHERE service = $1 AND open`,
      [service],
    );
    return { count: Number(rows[0]?.count ?? 0), workflows: Number(rows[0]?.workflows ?? 0), since: rows[0]?.since ?? null, lastError: rows[0]?.last_error ?? null };
  }

  /** Services that ever had a dead-lettered step (scopes the ticker re-evaluates). */
  async deadLetterServices(tx: Queryable): Promise<string[]> {
    const { rows } = await tx.query<{ service: string }>(`SELECT DISTINCT service FROM alerter_dead_letters WHERE service IS NOT NULL ORDER BY service`);
    return rows.map((r) => r.service);
  }

  async recordStepQueued(tx: Queryable, s: { runId: string; stepId: string; attempt: number; workflowId: string; service: string; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_step_attempts (run_id, step_id, attempt, workflow_id, service, queued_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET service = EXCLUDED.service, queued_at = EXCLUDED.queued_at`,
      [s.runId, s.stepId, s.attempt, s.workflowId, s.service, s.at],
    );
  }

  async recordStepStarted(tx: Queryable, s: { runId: string; stepId: string; attempt: number; workflowId: string; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_step_attempts (run_id, step_id, attempt, workflow_id, started_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET started_at = EXCLUDED.started_at`,
      [s.runId, s.stepId, s.attempt, s.workflowId, s.at],
    );
  }

  /**
   * Records how an attempt ended; its duration runs from its start (else from
   * when it was queued). Returns false when the attempt had ended before (a
   * replayed event changes nothing).
   */
  async recordStepOutcome(tx: Queryable, s: StepOutcome): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO alerter_step_attempts AS a (run_id, step_id, attempt, workflow_id, outcome, error, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET outcome = EXCLUDED.outcome, error = EXCLUDED.error, ended_at = EXCLUDED.ended_at,
         duration_ms = CASE WHEN COALESCE(a.started_at, a.queued_at) IS NULL THEN NULL
           ELSE GREATEST(0, (extract(epoch FROM EXCLUDED.ended_at - COALESCE(a.started_at, a.queued_at)) * 1000)::bigint) END
       WHERE a.outcome IS NULL`,
      [s.runId, s.stepId, s.attempt, s.workflowId, s.outcome, s.error, s.endedAt],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The steps of a workflow with an attempt that ended since `since`. */
  async activeSteps(tx: Queryable, workflowId: string, since: Date): Promise<string[]> {
    const { rows } = await tx.query<{ step_id: string }>(
      `SELECT DISTINCT step_id FROM alerter_step_attempts WHERE workflow_id = $1 AND outcome IS NOT NULL AND ended_at > $2 ORDER BY step_id`,
      [workflowId, since],
    );
    return rows.map((r) => r.step_id);
  }

  /** Attempts of one step that ended in (now - windowMs, now], the failed ones, the first failure and the newest error. */
  async stepWindow(tx: Queryable, workflowId: string, stepId: string, now: Date, windowMs: number): Promise<RateWindow> {
    const { rows } = await tx.query<{ total: string; bad: string; first_bad: Date | null; last_error: string | null }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE outcome <> 'succeeded') AS bad, min(ended_at) FILTER (WHERE outcome <> 'succeeded') AS first_bad,
         (array_agg(error ORDER BY ended_at DESC) FILTER (WHERE outcome <> 'succeeded' AND error IS NOT NULL))[1] AS last_error
       FROM alerter_step_attempts
       WHERE workflow_id = $1 AND step_id = $2 AND outcome IS NOT NULL AND ended_at <= $3 AND ended_at > $3::timestamptz - ($4::bigint * interval '1 millisecond')`,
      [workflowId, stepId, now, windowMs],
    );
    return rateWindow(rows[0]);
  }

  /** Durations of a step's newest successful attempts, newest first. */
  async stepDurations(tx: Queryable, workflowId: string, stepId: string, limit: number): Promise<Array<{ runId: string; attempt: number; durationMs: number; endedAt: Date }>> {
    const { rows } = await tx.query<{ run_id: string; attempt: number; duration_ms: string; ended_at: Date }>(
      `SELECT run_id, attempt, duration_ms, ended_at FROM alerter_step_attempts
       WHERE workflow_id = $1 AND step_id = $2 AND outcome = 'succeeded' AND duration_ms IS NOT NULL ORDER BY ended_at DESC, run_id DESC LIMIT $3`,
      [workflowId, stepId, limit],
    );
    return rows.map((r) => ({ runId: r.run_id, attempt: r.attempt, durationMs: Number(r.duration_ms), endedAt: r.ended_at }));
  }

  /** Returns false when the event was recorded before. */
  async recordSourceOutcome(tx: Queryable, o: { eventId: string; source: string; workflowId: string | null; ok: boolean; error: string | null; at: Date }): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO alerter_source_outcomes (event_id, source, workflow_id, ok, error, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
      [o.eventId, o.source, o.workflowId, o.ok, o.error, o.at],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Fetches of one source in (now - windowMs, now]: all of them, the failed ones, and the workflow of the newest. */
  async sourceWindow(tx: Queryable, source: string, now: Date, windowMs: number): Promise<RateWindow & { workflowId: string | null }> {
    const { rows } = await tx.query<{ total: string; bad: string; first_bad: Date | null; last_error: string | null; workflow_id: string | null }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE NOT ok) AS bad, min(at) FILTER (WHERE NOT ok) AS first_bad,
         (array_agg(error ORDER BY at DESC) FILTER (WHERE NOT ok AND error IS NOT NULL))[1] AS last_error,
         (SELECT workflow_id FROM alerter_source_outcomes WHERE source = $1 AND workflow_id IS NOT NULL ORDER BY at DESC LIMIT 1) AS workflow_id
       FROM alerter_source_outcomes WHERE source = $1 AND at <= $2 AND at > $2::timestamptz - ($3::bigint * interval '1 millisecond')`,
      [source, now, windowMs],
    );
    return { ...rateWindow(rows[0]), workflowId: rows[0]?.workflow_id ?? null };
  }

  /** Sources with a fetch since `since` (scopes the ticker re-evaluates as windows slide). */
  async activeSources(tx: Queryable, since: Date): Promise<string[]> {
    const { rows } = await tx.query<{ source: string }>(`SELECT DISTINCT source FROM alerter_source_outcomes WHERE at > $1 ORDER BY source`, [since]);
    return rows.map((r) => r.source);
  }

  async openDeadLetters(tx: Queryable, workflowId: string): Promise<{ count: number; since: Date | null; lastError: string | null }> {
    const { rows } = await tx.query<{ count: string; since: Date | null; last_error: string | null }>(
      `SELECT count(*) AS count, min(dead_lettered_at) AS since,
         (SELECT error FROM alerter_dead_letters WHERE workflow_id = $1 AND open ORDER BY dead_lettered_at DESC LIMIT 1) AS last_error
       FROM alerter_dead_letters WHERE workflow_id = $1 AND open`,
      [workflowId],
    );
    return { count: Number(rows[0]?.count ?? 0), since: rows[0]?.since ?? null, lastError: rows[0]?.last_error ?? null };
  }

  async recordStalledStep(tx: Queryable, d: { runId: string; stepId: string; workflowId: string; attempt: number; at: Date }): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_stalled_steps (run_id, step_id, workflow_id, attempt, timed_out_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [d.runId, d.stepId, d.workflowId, d.attempt, d.at],
    );
  }

  /** The run ended: its stalled attempts no longer need anyone. */
  async closeStalledSteps(tx: Queryable, runId: string): Promise<void> {
    await tx.query(`UPDATE alerter_stalled_steps SET open = false WHERE run_id = $1 AND open`, [runId]);
  }

  async openStalledSteps(tx: Queryable, workflowId: string): Promise<{ count: number; since: Date | null; last: string | null }> {
    const { rows } = await tx.query<{ count: string; since: Date | null; last: string | null }>(
      `SELECT count(*) AS count, min(timed_out_at) AS since, max(run_id || ' step ' || step_id || ' attempt ' || attempt) AS last
       FROM alerter_stalled_steps WHERE workflow_id = $1 AND open`,
      [workflowId],
    );
    return { count: Number(rows[0]?.count ?? 0), since: rows[0]?.since ?? null, last: rows[0]?.last ?? null };
  }

  async recordBudget(tx: Queryable, b: BudgetRow): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_budgets (scope, id, period, threshold, state, owner, workflow_id, spent_micros, budget_micros, forecast_micros, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (scope, id, period, threshold) DO UPDATE SET state = EXCLUDED.state, owner = EXCLUDED.owner, workflow_id = EXCLUDED.workflow_id,
         spent_micros = EXCLUDED.spent_micros, budget_micros = EXCLUDED.budget_micros, forecast_micros = EXCLUDED.forecast_micros, at = EXCLUDED.at
       WHERE alerter_budgets.at <= EXCLUDED.at`,
      [b.scope, b.id, b.period, b.threshold, b.state, b.owner, b.workflowId, b.spentMicros, b.budgetMicros, b.forecastMicros, b.at],
    );
  }

  async budgets(tx: Queryable): Promise<BudgetRow[]> {
    const { rows } = await tx.query<{ scope: string; id: string; period: string; threshold: string; state: 'ALARM' | 'OK'; owner: string | null; workflow_id: string | null; spent_micros: string; budget_micros: string; forecast_micros: string; at: Date }>(
      `SELECT * FROM alerter_budgets`,
    );
    return rows.map((r) => ({
      scope: r.scope,
      id: r.id,
      period: r.period,
      threshold: r.threshold,
      state: r.state,
      owner: r.owner,
      workflowId: r.workflow_id,
      spentMicros: BigInt(r.spent_micros),
      budgetMicros: BigInt(r.budget_micros),
      forecastMicros: BigInt(r.forecast_micros),
      at: r.at,
    }));
  }

  async channels(tx: Queryable): Promise<Array<{ receiver: string; consecutiveFailures: number; lastError: string | null; failingSince: Date | null }>> {
    const { rows } = await tx.query<{ receiver: string; consecutive_failures: number; last_error: string | null; failing_since: Date | null }>(`SELECT * FROM alerter_channels`);
    return rows.map((r) => ({ receiver: r.receiver, consecutiveFailures: r.consecutive_failures, lastError: r.last_error, failingSince: r.failing_since }));
  }

  async recordChannelResult(tx: Queryable, receiver: string, ok: boolean, error: string | null, now: Date): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_channels (receiver, consecutive_failures, last_error, failing_since, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (receiver) DO UPDATE SET
         consecutive_failures = CASE WHEN $6 THEN 0 ELSE alerter_channels.consecutive_failures + 1 END,
         last_error = COALESCE($3, alerter_channels.last_error),
         failing_since = CASE WHEN $6 THEN NULL ELSE COALESCE(alerter_channels.failing_since, $5) END,
         updated_at = $5`,
      [receiver, ok ? 0 : 1, error, ok ? null : now, now, ok],
    );
  }
}
