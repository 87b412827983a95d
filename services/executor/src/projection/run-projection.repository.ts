import type { StoredEvent } from '@steward/contracts';
import { EVENT_COLUMNS, toStoredEvent, type EventRow, type Queryable } from '@steward/event-store';
import { runStreamId } from '@steward/workflow';

// SQL for the executor's run projection (executor_runs, executor_steps,
// executor_step_attempts, executor_dead_letters, executor_approvals). Every
// write runs inside the transaction that appended the events it follows.

export interface RunRow {
  runId: string;
  workflowId: string;
  version: number;
  trigger: Record<string, unknown>;
  occurrenceId?: string;
  concurrencyKey: string;
  concurrencyLimit: number | null;
  timeoutMs?: number;
  requestedAt: string;
}

/** An attempt queued in the decision that requested the run: its step row is written queued, with the attempt row. */
export interface QueuedAttempt {
  stepId: string;
  attempt: number;
  queuedAt: string;
  heartbeatMs?: number;
}

export interface StepRow {
  stepId: string;
  position: number;
  kind: string;
  needs: string[];
  startToCloseMs: number;
}

/** What the engine needs to know about a run before it touches its stream. */
export interface RunHandle {
  runId: string;
  workflowId: string;
  status: string;
  concurrencyKey: string;
  concurrencyLimit: number | null;
  timeoutMs: number | null;
}

export interface StepProgress {
  status: string;
  attempt: number;
  startToCloseMs: number | null;
  heartbeatMs: number | null;
  lastHeartbeatAt: Date | null;
}

/** An attempt that ended; `started`: it also started in the same decision (a result that overtook its start report). */
export interface AttemptEnd {
  runId: string;
  stepId: string;
  attempt: number;
  status: string;
  at: string;
  error?: unknown;
  usage?: unknown;
  started?: { at: string; worker?: string };
}

/** A run that ended; `durationMs` null: measured from the request; `startedAt`: it also started in the same decision. */
export interface RunEnd {
  status: string;
  at: string;
  durationMs: number | null;
  outcome?: Record<string, unknown>;
  startedAt?: string;
}

// endAttempt's two updates ($1-$9, attemptParams) and endRun's ($1 run id, $2-$6 runParams).
// The hot statements are named: each connection parses and plans them once.
const END_ATTEMPT_STEP = `UPDATE executor_steps SET status = $4, ended_at = $5, last_error = COALESCE($6::jsonb, last_error),
         started_at = COALESCE(started_at, $8::timestamptz), last_heartbeat_at = COALESCE($8::timestamptz, last_heartbeat_at),
         duration_ms = CASE WHEN COALESCE(started_at, $8::timestamptz) IS NULL THEN NULL
                            ELSE GREATEST(0, (EXTRACT(EPOCH FROM ($5::timestamptz - COALESCE(started_at, $8::timestamptz))) * 1000)::bigint) END
       WHERE run_id = $1 AND step_id = $2`;
const END_ATTEMPT_ROW = `UPDATE executor_step_attempts SET ended_at = COALESCE(ended_at, $5::timestamptz), outcome = COALESCE(outcome, $4::text), error = COALESCE(error, $6::jsonb),
         usage = COALESCE(usage, $7::jsonb), started_at = COALESCE($8::timestamptz, started_at), worker = CASE WHEN $8::timestamptz IS NULL THEN worker ELSE $9::text END
       WHERE run_id = $1 AND step_id = $2 AND attempt = $3`;
const END_RUN = `UPDATE executor_runs SET status = $2, ended_at = $3, updated_at = $3, outcome = $5, started_at = COALESCE(started_at, $6::timestamptz),
         duration_ms = COALESCE($4::bigint, GREATEST(0, (EXTRACT(EPOCH FROM ($3::timestamptz - requested_at)) * 1000)::bigint))
       WHERE run_id = $1`;
const END_ATTEMPT = `WITH step AS (${END_ATTEMPT_STEP}) ${END_ATTEMPT_ROW}`;

// insertRun and endAttemptAndRun, for one run or for all a batch held (RunProjectionRepository.hold).
const INSERT_RUNS = `WITH r AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(run_id text, workflow_id text, version int, trigger jsonb, occurrence_id text,
      concurrency_key text, concurrency_limit int, timeout_ms bigint, requested_at timestamptz, queued_at timestamptz)
  ), run AS (
    INSERT INTO executor_runs (run_id, workflow_id, version, status, trigger, occurrence_id, concurrency_key, concurrency_limit, timeout_ms, requested_at, queued_at, updated_at)
    SELECT run_id, workflow_id, version, CASE WHEN queued_at IS NULL THEN 'pending' ELSE 'queued' END, trigger, occurrence_id, concurrency_key,
           concurrency_limit, timeout_ms, requested_at, queued_at, COALESCE(queued_at, requested_at)
    FROM r ON CONFLICT (run_id) DO NOTHING
  ), q AS (
    SELECT * FROM jsonb_to_recordset($3::jsonb) AS q(run_id text, step_id text, attempt int, queued_at timestamptz, heartbeat_ms bigint)
  ), attempts AS (
    INSERT INTO executor_step_attempts (run_id, step_id, attempt, queued_at) SELECT q.run_id, q.step_id, q.attempt, q.queued_at FROM q ON CONFLICT DO NOTHING
  )
  INSERT INTO executor_steps (run_id, step_id, workflow_id, position, kind, needs, status, start_to_close_ms, attempt, heartbeat_ms)
  SELECT s.run_id, s.step_id, r.workflow_id, s.position, s.kind, s.needs, CASE WHEN q.step_id IS NULL THEN 'pending' ELSE 'queued' END, s.start_to_close_ms,
         COALESCE(q.attempt, 0), q.heartbeat_ms
  FROM jsonb_to_recordset($2::jsonb) AS s(run_id text, step_id text, position int, kind text, needs text[], start_to_close_ms bigint)
  JOIN r USING (run_id) LEFT JOIN q USING (run_id, step_id)
  ON CONFLICT (run_id, step_id) DO UPDATE SET status = 'queued', attempt = EXCLUDED.attempt,
    heartbeat_ms = COALESCE(EXCLUDED.heartbeat_ms, executor_steps.heartbeat_ms), ended_at = NULL, duration_ms = NULL
  WHERE EXCLUDED.status = 'queued'`;

const END_ATTEMPTS_AND_RUNS = `WITH x AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(run_id text, step_id text, attempt int, status text, at timestamptz, error jsonb, usage jsonb,
      started_at timestamptz, worker text, run_status text, run_at timestamptz, duration_ms bigint, outcome jsonb, run_started_at timestamptz)
  ), step AS (
    UPDATE executor_steps s SET status = x.status, ended_at = x.at, last_error = COALESCE(x.error, s.last_error),
      started_at = COALESCE(s.started_at, x.started_at), last_heartbeat_at = COALESCE(x.started_at, s.last_heartbeat_at),
      duration_ms = CASE WHEN COALESCE(s.started_at, x.started_at) IS NULL THEN NULL
                         ELSE GREATEST(0, (EXTRACT(EPOCH FROM (x.at - COALESCE(s.started_at, x.started_at))) * 1000)::bigint) END
    FROM x WHERE s.run_id = x.run_id AND s.step_id = x.step_id
  ), attempt AS (
    UPDATE executor_step_attempts a SET ended_at = COALESCE(a.ended_at, x.at), outcome = COALESCE(a.outcome, x.status), error = COALESCE(a.error, x.error),
      usage = COALESCE(a.usage, x.usage), started_at = COALESCE(x.started_at, a.started_at), worker = CASE WHEN x.started_at IS NULL THEN a.worker ELSE x.worker END
    FROM x WHERE a.run_id = x.run_id AND a.step_id = x.step_id AND a.attempt = x.attempt
  )
  UPDATE executor_runs r SET status = x.run_status, ended_at = x.run_at, updated_at = x.run_at, outcome = x.outcome, started_at = COALESCE(r.started_at, x.run_started_at),
    duration_ms = COALESCE(x.duration_ms, GREATEST(0, (EXTRACT(EPOCH FROM (x.run_at - r.requested_at)) * 1000)::bigint))
  FROM x WHERE r.run_id = x.run_id`;

/** The runs' rows and streams; a run without a row has no line. */
const FIND_RUNS_WITH_STREAMS = `SELECT r.run_id AS key, r.run, e.* FROM (
    SELECT k.run_id, k.stream_id, json_build_object('runId', x.run_id, 'workflowId', x.workflow_id, 'status', x.status, 'concurrencyKey', x.concurrency_key,
                                                    'concurrencyLimit', x.concurrency_limit, 'timeoutMs', x.timeout_ms::int) AS run
      FROM unnest($1::text[], $2::text[]) AS k(run_id, stream_id) JOIN executor_runs x ON x.run_id = k.run_id
  ) r
  LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = r.stream_id ORDER BY stream_version) e ON true
  ORDER BY r.run_id, e.stream_version`;

function attemptParams(end: AttemptEnd): unknown[] {
  return [
    end.runId,
    end.stepId,
    end.attempt,
    end.status,
    end.at,
    end.error === undefined ? null : JSON.stringify(end.error),
    end.usage === undefined ? null : JSON.stringify(end.usage),
    end.started?.at ?? null,
    end.started?.worker ?? null,
  ];
}

const runParams = (end: RunEnd): unknown[] => [end.status, end.at, end.durationMs, end.outcome ?? null, end.startedAt ?? null];

/**
 * Row writes a batch holds back (RunProjectionRepository.hold): the two
 * writes every run makes, written for the whole batch in one statement each.
 */
interface Held {
  inserts: { run: RunRow; steps: StepRow[]; queuedAt?: string; queued: QueuedAttempt[] }[];
  ends: { attempt: AttemptEnd; run: RunEnd }[];
  /** Runs and their streams read for the whole batch up front; each is used once. */
  prefetched: Map<string, { run: RunHandle | undefined; history: StoredEvent[] }>;
}

export class RunProjectionRepository {
  private readonly holding = new WeakMap<Queryable, Held>();

  /**
   * Runs a batch's messages (`fn`, in its transaction) with the two writes
   * of every run held back and written together at the end: the row insert
   * of a requested run and the row updates of a run whose last attempt
   * ended. `runIds`: runs to read, with their streams, in one statement
   * first (the batch's reports). Every other read or write of these tables
   * in the transaction, here or in AdmissionRepository and the baselines,
   * first writes what is held (`settle`), so nothing ever sees the tables
   * without it.
   */
  async hold<T>(tx: Queryable, fn: () => Promise<T>, runIds: readonly string[] = []): Promise<T> {
    const held: Held = { inserts: [], ends: [], prefetched: new Map() };
    if (runIds.length > 1) held.prefetched = await this.findRunsWithStreams(tx, runIds);
    this.holding.set(tx, held);
    try {
      const result = await fn();
      await this.settle(tx);
      return result;
    } finally {
      this.holding.delete(tx);
    }
  }

  /** Writes what the batch holds (see hold); nothing when nothing is held. */
  async settle(tx: Queryable): Promise<void> {
    const held = this.holding.get(tx);
    if (held === undefined || (held.inserts.length === 0 && held.ends.length === 0)) return;
    const { inserts, ends } = held;
    held.inserts = [];
    held.ends = [];
    if (inserts.length > 0) await this.insertRuns(tx, inserts);
    if (ends.length > 0) await this.endAttemptsAndRuns(tx, ends);
  }

  private async insertRuns(tx: Queryable, inserts: Held['inserts']): Promise<void> {
    await tx.query({
      name: 'executor_insert_runs',
      text: INSERT_RUNS,
      values: [
        JSON.stringify(
          inserts.map(({ run, queuedAt }) => ({
            run_id: run.runId,
            workflow_id: run.workflowId,
            version: run.version,
            trigger: run.trigger,
            occurrence_id: run.occurrenceId ?? null,
            concurrency_key: run.concurrencyKey,
            concurrency_limit: run.concurrencyLimit,
            timeout_ms: run.timeoutMs ?? null,
            requested_at: run.requestedAt,
            queued_at: queuedAt ?? null,
          })),
        ),
        JSON.stringify(
          inserts.flatMap(({ run, steps }) =>
            steps.map((s) => ({ run_id: run.runId, step_id: s.stepId, position: s.position, kind: s.kind, needs: s.needs, start_to_close_ms: s.startToCloseMs })),
          ),
        ),
        JSON.stringify(
          inserts.flatMap(({ run, queued }) => queued.map((q) => ({ run_id: run.runId, step_id: q.stepId, attempt: q.attempt, queued_at: q.queuedAt, heartbeat_ms: q.heartbeatMs ?? null }))),
        ),
      ],
    });
  }

  private async endAttemptsAndRuns(tx: Queryable, ends: Held['ends']): Promise<void> {
    await tx.query({
      name: 'executor_end_attempts_and_runs',
      text: END_ATTEMPTS_AND_RUNS,
      values: [
        JSON.stringify(
          ends.map(({ attempt: a, run: r }) => ({
            run_id: a.runId,
            step_id: a.stepId,
            attempt: a.attempt,
            status: a.status,
            at: a.at,
            error: a.error ?? null,
            usage: a.usage ?? null,
            started_at: a.started?.at ?? null,
            worker: a.started?.worker ?? null,
            run_status: r.status,
            run_at: r.at,
            duration_ms: r.durationMs,
            outcome: r.outcome ?? null,
            run_started_at: r.startedAt ?? null,
          })),
        ),
      ],
    });
  }

  /** findRunWithStream for many runs in one statement (a batch's reports); runs without a row are left out. */
  private async findRunsWithStreams(tx: Queryable, runIds: readonly string[]): Promise<Held['prefetched']> {
    const unique = [...new Set(runIds)];
    const { rows } = await tx.query<{ key: string; run: RunHandle } & EventRow>({
      name: 'executor_find_runs_with_streams',
      text: FIND_RUNS_WITH_STREAMS,
      values: [unique, unique.map(runStreamId)],
    });
    const out: Held['prefetched'] = new Map();
    for (const row of rows) {
      let found = out.get(row.key);
      if (found === undefined) out.set(row.key, (found = { run: row.run, history: [] }));
      if (row.event_id !== null) found.history.push(toStoredEvent(row));
    }
    return out;
  }

  /**
   * The run row, its step rows and the attempts queued with it in one
   * statement; `queuedAt`: the run was admitted in the same decision.
   * Queued steps are written as `queueAttempt` leaves a fresh step row.
   */
  async insertRun(tx: Queryable, run: RunRow, steps: StepRow[], queuedAt?: string, queued: QueuedAttempt[] = []): Promise<void> {
    const held = this.holding.get(tx);
    if (held !== undefined) {
      held.prefetched.delete(run.runId);
      held.inserts.push({ run, steps, ...(queuedAt !== undefined && { queuedAt }), queued });
      return;
    }
    await this.settle(tx);
    await this.insertRuns(tx, [{ run, steps, ...(queuedAt !== undefined && { queuedAt }), queued }]);
  }

  /**
   * The run's handle and its event stream in one statement (one round trip
   * instead of two on every report): the run row rides along on each event
   * row, or on a single row of NULL events when the stream is empty.
   */
  async findRunWithStream(tx: Queryable, runId: string, streamId: string): Promise<{ run: RunHandle | undefined; history: StoredEvent[] }> {
    const held = this.holding.get(tx);
    const prefetched = held?.prefetched.get(runId);
    if (prefetched !== undefined) {
      // Once: a second command on the run in this batch reads what the first one wrote.
      held!.prefetched.delete(runId);
      return prefetched;
    }
    await this.settle(tx);
    const { rows } = await tx.query<{ run: RunHandle | null } & EventRow>({
      name: 'executor_find_run_with_stream',
      text: `SELECT r.run, e.* FROM (
         SELECT (SELECT json_build_object('runId', run_id, 'workflowId', workflow_id, 'status', status, 'concurrencyKey', concurrency_key,
                                          'concurrencyLimit', concurrency_limit, 'timeoutMs', timeout_ms::int)
                   FROM executor_runs WHERE run_id = $1) AS run
       ) r
       LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $2 ORDER BY stream_version) e ON true`,
      values: [runId, streamId],
    });
    const run = rows[0]?.run ?? undefined;
    return { run, history: rows.filter((r) => r.event_id !== null).map(toStoredEvent) };
  }

  /** Moves the run's status; `column` also stamps queued_at or started_at. */
  async markRun(tx: Queryable, runId: string, status: string, at: string, column?: 'queued_at' | 'started_at'): Promise<void> {
    await this.settle(tx);
    const stamp = column === undefined ? '' : `, ${column} = COALESCE(${column}, $3)`;
    await tx.query(`UPDATE executor_runs SET status = $2, updated_at = $3${stamp} WHERE run_id = $1`, [runId, status, at]);
  }

  /** `durationMs` null: measured from the request. `startedAt`: the run also started in the same decision. */
  async endRun(tx: Queryable, runId: string, end: RunEnd): Promise<void> {
    await this.settle(tx);
    await tx.query({ name: 'executor_end_run', text: END_RUN, values: [runId, ...runParams(end)] });
  }

  async reopenRun(tx: Queryable, runId: string, at: string): Promise<void> {
    await this.settle(tx);
    await tx.query(`UPDATE executor_runs SET status = 'running', ended_at = NULL, duration_ms = NULL, outcome = NULL, updated_at = $2 WHERE run_id = $1`, [runId, at]);
  }

  async queueAttempt(tx: Queryable, runId: string, stepId: string, attempt: number, at: string, heartbeatMs?: number): Promise<void> {
    await this.settle(tx);
    await tx.query({
      name: 'executor_queue_attempt',
      text: `WITH step AS (
         UPDATE executor_steps SET status = 'queued', attempt = $3, heartbeat_ms = COALESCE($5::bigint, heartbeat_ms), ended_at = NULL, duration_ms = NULL
         WHERE run_id = $1 AND step_id = $2
       )
       INSERT INTO executor_step_attempts (run_id, step_id, attempt, queued_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      values: [runId, stepId, attempt, at, heartbeatMs ?? null],
    });
  }

  async startAttempt(tx: Queryable, runId: string, stepId: string, attempt: number, at: string, worker?: string): Promise<void> {
    await this.settle(tx);
    await tx.query({
      name: 'executor_start_attempt',
      text: `WITH step AS (
         UPDATE executor_steps SET status = 'running', started_at = COALESCE(started_at, $4::timestamptz), last_heartbeat_at = $4 WHERE run_id = $1 AND step_id = $2
       )
       UPDATE executor_step_attempts SET started_at = $4, worker = $5 WHERE run_id = $1 AND step_id = $2 AND attempt = $3`,
      values: [runId, stepId, attempt, at, worker ?? null],
    });
  }

  /** An attempt ended (succeeded, failed, timed out); the step's duration runs from its first start. */
  async endAttempt(tx: Queryable, end: AttemptEnd): Promise<void> {
    await this.settle(tx);
    await tx.query({ name: 'executor_end_attempt', text: END_ATTEMPT, values: attemptParams(end) });
  }

  /** The last attempt of a run and the run ended in one decision: the three rows in one statement. */
  async endAttemptAndRun(tx: Queryable, attempt: AttemptEnd, run: RunEnd): Promise<void> {
    const held = this.holding.get(tx);
    if (held !== undefined) {
      held.prefetched.delete(attempt.runId);
      held.ends.push({ attempt, run });
      return;
    }
    await this.settle(tx);
    await this.endAttemptsAndRuns(tx, [{ attempt, run }]);
  }

  async markStep(tx: Queryable, runId: string, stepId: string, status: string, at?: string): Promise<void> {
    await this.settle(tx);
    await tx.query(`UPDATE executor_steps SET status = $3, ended_at = COALESCE($4::timestamptz, ended_at) WHERE run_id = $1 AND step_id = $2`, [runId, stepId, status, at ?? null]);
  }

  async recordHeartbeat(tx: Queryable, runId: string, stepId: string, attempt: number, at: Date): Promise<boolean> {
    await this.settle(tx);
    const { rowCount } = await tx.query(
      `UPDATE executor_steps SET last_heartbeat_at = GREATEST(last_heartbeat_at, $4::timestamptz) WHERE run_id = $1 AND step_id = $2 AND attempt = $3 AND status = 'running'`,
      [runId, stepId, attempt, at],
    );
    return rowCount === 1;
  }

  async stepProgress(tx: Queryable, runId: string, stepId: string): Promise<StepProgress | undefined> {
    await this.settle(tx);
    const { rows } = await tx.query<StepProgress>(
      `SELECT status, attempt, start_to_close_ms::int AS "startToCloseMs", heartbeat_ms::int AS "heartbeatMs", last_heartbeat_at AS "lastHeartbeatAt"
       FROM executor_steps WHERE run_id = $1 AND step_id = $2`,
      [runId, stepId],
    );
    return rows[0];
  }

  async stepTimeouts(tx: Queryable, runId: string): Promise<Map<string, { startToCloseMs: number; heartbeatMs?: number }>> {
    await this.settle(tx);
    const { rows } = await tx.query<{ stepId: string; startToCloseMs: number; heartbeatMs: number | null }>(
      `SELECT step_id AS "stepId", start_to_close_ms::int AS "startToCloseMs", heartbeat_ms::int AS "heartbeatMs" FROM executor_steps WHERE run_id = $1`,
      [runId],
    );
    return new Map(rows.map((r) => [r.stepId, { startToCloseMs: r.startToCloseMs, ...(r.heartbeatMs !== null && { heartbeatMs: r.heartbeatMs }) }]));
  }

  async openDeadLetter(
    tx: Queryable,
    dl: { runId: string; stepId: string; workflowId: string; version: number; reason: string; attempts: unknown; firstFailureAt: string; lastFailureAt: string; deadLetteredAt: string },
  ): Promise<void> {
    await this.settle(tx);
    // A requeued step that fails its fresh budget again reopens the same dead letter.
    await tx.query(
      `INSERT INTO executor_dead_letters (id, run_id, step_id, workflow_id, version, reason, attempts, first_failure_at, last_failure_at, dead_lettered_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open')
       ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, first_failure_at = EXCLUDED.first_failure_at,
         last_failure_at = EXCLUDED.last_failure_at, dead_lettered_at = EXCLUDED.dead_lettered_at, status = 'open',
         resolved_at = NULL, resolved_by = NULL, resolution_reason = NULL`,
      [`${dl.runId}:${dl.stepId}`, dl.runId, dl.stepId, dl.workflowId, dl.version, dl.reason, JSON.stringify(dl.attempts), dl.firstFailureAt, dl.lastFailureAt, dl.deadLetteredAt],
    );
  }

  async resolveDeadLetter(tx: Queryable, id: string, status: 'requeued' | 'discarded', at: string, actor?: string, reason?: string): Promise<void> {
    await this.settle(tx);
    await tx.query(
      `UPDATE executor_dead_letters SET status = $2, resolved_at = $3, resolved_by = $4, resolution_reason = $5 WHERE id = $1`,
      [id, status, at, actor ?? null, reason ?? null],
    );
  }

  async openApproval(
    tx: Queryable,
    a: { runId: string; stepId: string; workflowId: string; approvers: string[]; onTimeout: string; requestedAt: string; dueAt: string },
  ): Promise<void> {
    await this.settle(tx);
    await tx.query(
      `INSERT INTO executor_approvals (run_id, step_id, workflow_id, approvers, on_timeout, status, requested_at, due_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT (run_id, step_id) DO NOTHING`,
      [a.runId, a.stepId, a.workflowId, a.approvers, a.onTimeout, a.requestedAt, a.dueAt],
    );
  }

  async escalateApproval(tx: Queryable, runId: string, stepId: string, dueAt: string): Promise<void> {
    await this.settle(tx);
    await tx.query(`UPDATE executor_approvals SET escalated = true, due_at = $3 WHERE run_id = $1 AND step_id = $2`, [runId, stepId, dueAt]);
  }

  async decideApproval(tx: Queryable, runId: string, stepId: string, status: string, at: string, by?: string, comment?: string): Promise<void> {
    await this.settle(tx);
    await tx.query(
      `UPDATE executor_approvals SET status = $3, decided_at = $4, decided_by = $5, comment = $6 WHERE run_id = $1 AND step_id = $2 AND status = 'pending'`,
      [runId, stepId, status, at, by ?? null, comment ?? null],
    );
  }
}
