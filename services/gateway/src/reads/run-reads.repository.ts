import type { Pool } from 'pg';

// Read-only SQL over the executor's projection tables (executor_runs,
// executor_steps, executor_step_attempts, executor_approvals,
// executor_dead_letters). The executor owns and writes them; the gateway
// only reads, possibly through the read-only role.

export interface RunListFilter {
  workflow?: string;
  status?: string;
  limit: number;
  /** Newest first: the (requested_at, run_id) of the last row of the previous page. */
  after?: { at: string; id: string };
}

export interface RunListRow {
  id: string;
  workflow: string;
  status: string;
  trigger: Record<string, unknown>;
  requestedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: string | null;
}

export interface RunDetailRow extends RunListRow {
  version: number;
  occurrenceId: string | null;
  queuedAt: Date | null;
  outcome: Record<string, unknown> | null;
}

export interface StepRow {
  id: string;
  kind: string;
  status: string;
  needs: string[];
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: string | null;
  lastError: { code: string; message: string } | null;
}

export interface AttemptRow {
  stepId: string;
  attempt: number;
  queuedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  worker: string | null;
  outcome: string | null;
  error: { code: string; message: string; retryable: boolean } | null;
}

export interface ApprovalRow {
  runId: string;
  stepId: string;
  workflowId: string;
  approvers: string[];
  onTimeout: string;
  escalated: boolean;
  requestedAt: Date;
  dueAt: Date;
}

export interface DeadLetterRow {
  id: string;
  workflowId: string;
  runId: string;
  stepId: string;
  version: number;
  reason: string;
  attempts: Array<{ attempt: number; error: { code: string; message: string }; failedAt: string }>;
  firstFailureAt: Date;
  lastFailureAt: Date;
  deadLetteredAt: Date;
}

/** Which open dead letters; `sinceMs`: dead-lettered within that many milliseconds of now. */
export interface DeadLetterFilter {
  workflow?: string;
  step?: string;
  /** Error code of the last failed attempt. */
  code?: string;
  sinceMs?: number;
}

export interface DeadLetterActionRow {
  id: string;
  outcome: 'requeued' | 'discarded' | 'skipped';
  reason: string | null;
}

// $1..$4: workflow, step, code, since (ms); NULL matches everything.
const DEAD_LETTER_FILTER = `status = 'open'
  AND ($1::text IS NULL OR workflow_id = $1) AND ($2::text IS NULL OR step_id = $2)
  AND ($3::text IS NULL OR attempts -> -1 -> 'error' ->> 'code' = $3)
  AND ($4::bigint IS NULL OR dead_lettered_at >= now() - $4::bigint * interval '1 millisecond')`;

const filterParams = (f: DeadLetterFilter) => [f.workflow ?? null, f.step ?? null, f.code ?? null, f.sinceMs ?? null];

const RUN_COLUMNS = `run_id AS id, workflow_id AS workflow, status, trigger, requested_at AS "requestedAt", started_at AS "startedAt",
  ended_at AS "endedAt", duration_ms AS "durationMs"`;

export class RunReadsRepository {
  constructor(private readonly pool: Pool) {}

  async listRuns(f: RunListFilter): Promise<RunListRow[]> {
    const { rows } = await this.pool.query<RunListRow>(
      `SELECT ${RUN_COLUMNS} FROM executor_runs
       WHERE ($1::text IS NULL OR workflow_id = $1) AND ($2::text IS NULL OR status = $2)
         AND ($3::timestamptz IS NULL OR (requested_at, run_id) < ($3::timestamptz, $4::text))
       ORDER BY requested_at DESC, run_id DESC LIMIT $5`,
      [f.workflow ?? null, f.status ?? null, f.after?.at ?? null, f.after?.id ?? null, f.limit],
    );
    return rows;
  }

  async findRun(runId: string): Promise<RunDetailRow | undefined> {
    const { rows } = await this.pool.query<RunDetailRow>(
      `SELECT ${RUN_COLUMNS}, version, occurrence_id AS "occurrenceId", queued_at AS "queuedAt", outcome FROM executor_runs WHERE run_id = $1`,
      [runId],
    );
    return rows[0];
  }

  async runStatus(runId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ status: string }>('SELECT status FROM executor_runs WHERE run_id = $1', [runId]);
    return rows[0]?.status;
  }

  async stepsOf(runId: string): Promise<{ steps: StepRow[]; attempts: AttemptRow[] }> {
    const [steps, attempts] = await Promise.all([
      this.pool.query<StepRow>(
        `SELECT step_id AS id, kind, status, needs, started_at AS "startedAt", ended_at AS "endedAt", duration_ms AS "durationMs", last_error AS "lastError"
         FROM executor_steps WHERE run_id = $1 ORDER BY position`,
        [runId],
      ),
      this.pool.query<AttemptRow>(
        `SELECT step_id AS "stepId", attempt, queued_at AS "queuedAt", started_at AS "startedAt", ended_at AS "endedAt", worker, outcome, error
         FROM executor_step_attempts WHERE run_id = $1 ORDER BY step_id, attempt`,
        [runId],
      ),
    ]);
    return { steps: steps.rows, attempts: attempts.rows };
  }

  /** Oldest first: the one waiting longest is the one to decide first. */
  async pendingApprovals(limit: number, after?: { at: string; id: string }): Promise<ApprovalRow[]> {
    const { rows } = await this.pool.query<ApprovalRow>(
      `SELECT run_id AS "runId", step_id AS "stepId", workflow_id AS "workflowId", approvers, on_timeout AS "onTimeout", escalated,
              requested_at AS "requestedAt", due_at AS "dueAt"
       FROM executor_approvals
       WHERE status = 'pending' AND ($2::timestamptz IS NULL OR (requested_at, run_id || ':' || step_id) > ($2::timestamptz, $3::text))
       ORDER BY requested_at, run_id || ':' || step_id LIMIT $1`,
      [limit, after?.at ?? null, after?.id ?? null],
    );
    return rows;
  }

  /** Open dead letters matching `filter`, newest first. */
  async openDeadLetters(limit: number, after?: { at: string; id: string }, filter: DeadLetterFilter = {}): Promise<DeadLetterRow[]> {
    const { rows } = await this.pool.query<DeadLetterRow>(
      `SELECT id, workflow_id AS "workflowId", run_id AS "runId", step_id AS "stepId", version, reason, attempts,
              first_failure_at AS "firstFailureAt", last_failure_at AS "lastFailureAt", dead_lettered_at AS "deadLetteredAt"
       FROM executor_dead_letters
       WHERE ${DEAD_LETTER_FILTER} AND ($6::timestamptz IS NULL OR (dead_lettered_at, id) < ($6::timestamptz, $7::text))
       ORDER BY dead_lettered_at DESC, id DESC LIMIT $5`,
      [...filterParams(filter), limit, after?.at ?? null, after?.id ?? null],
    );
    return rows;
  }

  /** Ids of the open dead letters matching `filter`, oldest first (the order a bulk command takes them in). */
  async matchDeadLetters(filter: DeadLetterFilter, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM executor_dead_letters WHERE ${DEAD_LETTER_FILTER} ORDER BY dead_lettered_at, id LIMIT $5`,
      [...filterParams(filter), limit],
    );
    return rows.map((r) => r.id);
  }

  /** What the executor did with each id of a bulk dead-letter command (executor_dead_letter_actions). */
  async deadLetterActions(commandId: string): Promise<DeadLetterActionRow[]> {
    const { rows } = await this.pool.query<DeadLetterActionRow>(
      `SELECT dead_letter_id AS id, outcome, reason FROM executor_dead_letter_actions WHERE command_id = $1 ORDER BY position`,
      [commandId],
    );
    return rows;
  }
}
