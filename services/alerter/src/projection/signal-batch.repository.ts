import type { Queryable } from '@steward/event-store';
import { attemptKey, stepKey, type SegmentOutcome, type SignalSegment } from '../signals/signal.batch';

const byKey = <T>(rows: Iterable<T>, key: (r: T) => string): T[] => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/**
 * Writes a segment of a delivered batch: each signal table once, one
 * multi-row statement from unnest(...) arrays, rows in key order so two
 * replicas writing overlapping keys queue instead of deadlocking. Each
 * statement keeps the one-at-a-time semantics of SignalRepository's
 * per-event methods (first outcome wins, GREATEST for the last capture, a
 * run's end closes its stalled attempts) and reports which rows
 * were new, which decides the scopes to evaluate.
 */
export class SignalBatchRepository {
  async write(tx: Queryable, s: SignalSegment): Promise<SegmentOutcome> {
    await this.workflows(tx, s);
    // Attempts first: a dead letter takes its service from its step's attempts.
    const recordedAttempts = await this.attempts(tx, s);
    const recordedRuns = await this.runs(tx, s);
    await this.captures(tx, s);
    await this.stalled(tx, s);
    const deadLetterServices = await this.deadLetters(tx, s);
    const recordedSources = await this.sources(tx, s);
    return { recordedAttempts, recordedRuns, recordedSources, deadLetterServices };
  }

  /** workflow.applied upserts, then paused / resumed (a segment holds one event per workflow, so they never meet). */
  private async workflows(tx: Queryable, s: SignalSegment): Promise<void> {
    if (s.workflows.size > 0) {
      const rows = byKey(s.workflows.values(), (w) => w.workflowId);
      await tx.query(
        `INSERT INTO alerter_workflows (workflow_id, owner, runbook, success_objective, freshness_ms, monthly_budget_usd, applied_at)
         SELECT workflow_id, owner, runbook, success_objective, freshness_ms, monthly_budget_usd, applied_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::bigint[], $6::float8[], $7::timestamptz[]) WITH ORDINALITY
           AS d(workflow_id, owner, runbook, success_objective, freshness_ms, monthly_budget_usd, applied_at, ord)
         ORDER BY ord
         ON CONFLICT (workflow_id) DO UPDATE SET owner = EXCLUDED.owner, runbook = EXCLUDED.runbook, success_objective = EXCLUDED.success_objective,
           freshness_ms = EXCLUDED.freshness_ms, monthly_budget_usd = EXCLUDED.monthly_budget_usd, applied_at = EXCLUDED.applied_at`,
        [
          rows.map((w) => w.workflowId),
          rows.map((w) => w.owner),
          rows.map((w) => w.runbook),
          rows.map((w) => w.successObjective),
          rows.map((w) => w.freshnessMs),
          rows.map((w) => w.monthlyBudgetUsd),
          rows.map((w) => w.appliedAt),
        ],
      );
    }
    if (s.pauses.size === 0) return;
    const ids = [...s.pauses.keys()].sort();
    await tx.query(
      `WITH d AS (SELECT * FROM unnest($1::text[], $2::boolean[]) AS d(workflow_id, paused)),
       locked AS (SELECT w.workflow_id FROM alerter_workflows w WHERE w.workflow_id = ANY($1::text[]) ORDER BY w.workflow_id FOR UPDATE)
       UPDATE alerter_workflows w SET paused = d.paused FROM d JOIN locked USING (workflow_id) WHERE w.workflow_id = d.workflow_id`,
      [ids, ids.map((id) => s.pauses.get(id)!)],
    );
  }

  /**
   * queued / started / outcome of each attempt merged into one upsert. The
   * segment holds no queued or started after an outcome, so the duration's
   * start is the newest started (else queued) of the batch or the row, as
   * when the events came one at a time. `pre` reads the rows as they were
   * before the statement: an outcome counts as recorded when the row had none.
   */
  private async attempts(tx: Queryable, s: SignalSegment): Promise<Set<string>> {
    if (s.attempts.size === 0) return new Set();
    const rows = byKey(s.attempts.values(), (a) => attemptKey(a.runId, a.stepId, a.attempt));
    const { rows: recorded } = await tx.query<{ run_id: string; step_id: string; attempt: number }>(
      `WITH d AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::timestamptz[])
           WITH ORDINALITY AS d(run_id, step_id, attempt, workflow_id, service, queued_at, started_at, outcome, error, ended_at, ord)
       ),
       pre AS (SELECT a.run_id, a.step_id, a.attempt, a.outcome FROM alerter_step_attempts a JOIN d USING (run_id, step_id, attempt)),
       up AS (
         INSERT INTO alerter_step_attempts AS a (run_id, step_id, attempt, workflow_id, service, queued_at, started_at, outcome, error, ended_at, duration_ms)
         SELECT run_id, step_id, attempt, workflow_id, service, queued_at, started_at, outcome, error, ended_at,
           CASE WHEN outcome IS NULL OR COALESCE(started_at, queued_at) IS NULL THEN NULL
             ELSE GREATEST(0, (extract(epoch FROM ended_at - COALESCE(started_at, queued_at)) * 1000)::bigint) END
         FROM d ORDER BY ord
         ON CONFLICT (run_id, step_id, attempt) DO UPDATE SET
           service = COALESCE(EXCLUDED.service, a.service),
           queued_at = COALESCE(EXCLUDED.queued_at, a.queued_at),
           started_at = COALESCE(EXCLUDED.started_at, a.started_at),
           outcome = COALESCE(a.outcome, EXCLUDED.outcome),
           error = CASE WHEN a.outcome IS NULL AND EXCLUDED.outcome IS NOT NULL THEN EXCLUDED.error ELSE a.error END,
           ended_at = CASE WHEN a.outcome IS NULL AND EXCLUDED.outcome IS NOT NULL THEN EXCLUDED.ended_at ELSE a.ended_at END,
           duration_ms = CASE WHEN a.outcome IS NOT NULL OR EXCLUDED.outcome IS NULL THEN a.duration_ms
             WHEN COALESCE(EXCLUDED.started_at, a.started_at, EXCLUDED.queued_at, a.queued_at) IS NULL THEN NULL
             ELSE GREATEST(0, (extract(epoch FROM EXCLUDED.ended_at - COALESCE(EXCLUDED.started_at, a.started_at, EXCLUDED.queued_at, a.queued_at)) * 1000)::bigint) END
       )
       SELECT d.run_id, d.step_id, d.attempt FROM d LEFT JOIN pre USING (run_id, step_id, attempt) WHERE d.outcome IS NOT NULL AND pre.outcome IS NULL`,
      [
        rows.map((a) => a.runId),
        rows.map((a) => a.stepId),
        rows.map((a) => a.attempt),
        rows.map((a) => a.workflowId),
        rows.map((a) => a.service),
        rows.map((a) => a.queuedAt),
        rows.map((a) => a.startedAt),
        rows.map((a) => a.outcome),
        rows.map((a) => a.error),
        rows.map((a) => a.endedAt),
      ],
    );
    return new Set(recorded.map((r) => attemptKey(r.run_id, r.step_id, r.attempt)));
  }

  private async runs(tx: Queryable, s: SignalSegment): Promise<Set<string>> {
    if (s.runs.size === 0) return new Set();
    const rows = byKey(s.runs.values(), (r) => r.runId);
    const { rows: recorded } = await tx.query<{ run_id: string }>(
      `INSERT INTO alerter_run_outcomes (run_id, workflow_id, outcome, duration_ms, error, ended_at)
       SELECT run_id, workflow_id, outcome, duration_ms, error, ended_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[]) WITH ORDINALITY AS d(run_id, workflow_id, outcome, duration_ms, error, ended_at, ord)
       ORDER BY ord
       ON CONFLICT (run_id) DO NOTHING RETURNING run_id`,
      [rows.map((r) => r.runId), rows.map((r) => r.workflowId), rows.map((r) => r.outcome), rows.map((r) => r.durationMs), rows.map((r) => r.error), rows.map((r) => r.endedAt)],
    );
    return new Set(recorded.map((r) => r.run_id));
  }

  /** last_capture_at moves forward only (GREATEST), so the order of the segment's captures does not matter. */
  private async captures(tx: Queryable, s: SignalSegment): Promise<void> {
    const ids = [...s.captures.keys()].sort();
    if (ids.length === 0) return;
    await tx.query(
      `WITH d AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS d(workflow_id, capture_at)),
       locked AS (SELECT w.workflow_id FROM alerter_workflows w WHERE w.workflow_id = ANY($1::text[]) ORDER BY w.workflow_id FOR UPDATE)
       UPDATE alerter_workflows w SET last_capture_at = GREATEST(w.last_capture_at, d.capture_at)
       FROM d JOIN locked USING (workflow_id) WHERE w.workflow_id = d.workflow_id`,
      [ids, ids.map((id) => s.captures.get(id)!)],
    );
  }

  /** Closes first (rows from earlier batches), then this segment's new stalled attempts with the state their run left them in. */
  private async stalled(tx: Queryable, s: SignalSegment): Promise<void> {
    if (s.stalledCloses.size > 0) {
      await tx.query(
        `WITH locked AS (SELECT run_id, step_id, attempt FROM alerter_stalled_steps WHERE run_id = ANY($1::text[]) AND open ORDER BY run_id, step_id, attempt FOR UPDATE)
         UPDATE alerter_stalled_steps t SET open = false FROM locked l WHERE t.run_id = l.run_id AND t.step_id = l.step_id AND t.attempt = l.attempt`,
        [[...s.stalledCloses]],
      );
    }
    if (s.stalledOpens.size === 0) return;
    const rows = byKey(s.stalledOpens.values(), (r) => attemptKey(r.runId, r.stepId, r.attempt));
    await tx.query(
      `INSERT INTO alerter_stalled_steps (run_id, step_id, workflow_id, attempt, timed_out_at, open)
       SELECT run_id, step_id, workflow_id, attempt, at, open
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::boolean[]) WITH ORDINALITY AS d(run_id, step_id, workflow_id, attempt, at, open, ord)
       ORDER BY ord ON CONFLICT DO NOTHING`,
      [rows.map((r) => r.runId), rows.map((r) => r.stepId), rows.map((r) => r.workflowId), rows.map((r) => r.attempt), rows.map((r) => r.at), rows.map((r) => r.open)],
    );
  }

  /** One operation per dead letter in a segment (the segment splits otherwise): open (with its step's service) or close. */
  private async deadLetters(tx: Queryable, s: SignalSegment): Promise<Map<string, string | null>> {
    const services = new Map<string, string | null>();
    if (s.deadLetters.size > 0) {
      const rows = byKey(s.deadLetters.values(), (d) => stepKey(d.runId, d.stepId));
      const { rows: opened } = await tx.query<{ run_id: string; step_id: string; service: string | null }>(
        `INSERT INTO alerter_dead_letters AS dl (run_id, step_id, workflow_id, error, dead_lettered_at, open, service)
         SELECT d.run_id, d.step_id, d.workflow_id, d.error, d.at, true,
           (SELECT a.service FROM alerter_step_attempts a WHERE a.run_id = d.run_id AND a.step_id = d.step_id AND a.service IS NOT NULL ORDER BY a.attempt DESC LIMIT 1)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS d(run_id, step_id, workflow_id, error, at, ord)
         ORDER BY d.ord
         ON CONFLICT (run_id, step_id) DO UPDATE SET open = true, error = EXCLUDED.error, dead_lettered_at = EXCLUDED.dead_lettered_at,
           service = COALESCE(EXCLUDED.service, dl.service)
         RETURNING run_id, step_id, service`,
        [rows.map((d) => d.runId), rows.map((d) => d.stepId), rows.map((d) => d.workflowId), rows.map((d) => d.error), rows.map((d) => d.at)],
      );
      for (const r of opened) services.set(stepKey(r.run_id, r.step_id), r.service);
    }
    if (s.deadLetterCloses.size > 0) {
      const rows = byKey(s.deadLetterCloses.values(), (d) => stepKey(d.runId, d.stepId));
      const { rows: closed } = await tx.query<{ run_id: string; step_id: string; service: string | null }>(
        `WITH d AS (SELECT * FROM unnest($1::text[], $2::text[]) AS d(run_id, step_id)),
         locked AS (SELECT t.run_id, t.step_id FROM alerter_dead_letters t JOIN d USING (run_id, step_id) ORDER BY t.run_id, t.step_id FOR UPDATE OF t)
         UPDATE alerter_dead_letters t SET open = false FROM locked l WHERE t.run_id = l.run_id AND t.step_id = l.step_id
         RETURNING t.run_id, t.step_id, t.service`,
        [rows.map((d) => d.runId), rows.map((d) => d.stepId)],
      );
      for (const r of closed) services.set(stepKey(r.run_id, r.step_id), r.service);
    }
    return services;
  }

  private async sources(tx: Queryable, s: SignalSegment): Promise<Set<string>> {
    if (s.sources.size === 0) return new Set();
    const rows = byKey(s.sources.values(), (r) => r.eventId);
    const { rows: recorded } = await tx.query<{ event_id: string }>(
      `INSERT INTO alerter_source_outcomes (event_id, source, workflow_id, ok, error, at)
       SELECT event_id, source, workflow_id, ok, error, at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::timestamptz[]) WITH ORDINALITY AS d(event_id, source, workflow_id, ok, error, at, ord)
       ORDER BY ord ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [rows.map((r) => r.eventId), rows.map((r) => r.source), rows.map((r) => r.workflowId), rows.map((r) => r.ok), rows.map((r) => r.error), rows.map((r) => r.at)],
    );
    return new Set(recorded.map((r) => r.event_id));
  }
}
