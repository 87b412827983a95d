import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every executor replica uses the same one.
const SCHEMA_LOCK = 0x4558_4543; // "EXEC"

/**
 * The executor's projection tables, read by the gateway (runs, approvals,
 * dead letters) and the alerter (duration baselines). Updated in the same
 * transaction as the run events they follow, so they are never behind the
 * run streams. Idempotent DDL under an advisory lock: two replicas starting
 * together would otherwise race on the catalog.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS executor_runs (
  run_id            text        PRIMARY KEY,
  workflow_id       text        NOT NULL,
  version           integer     NOT NULL,
  status            text        NOT NULL,
  trigger           jsonb       NOT NULL,
  occurrence_id     text,
  concurrency_key   text        NOT NULL,
  -- NULL: no limit (no concurrency setting and no overlap policy that needs one)
  concurrency_limit integer,
  timeout_ms        bigint,
  requested_at      timestamptz NOT NULL,
  queued_at         timestamptz,
  started_at        timestamptz,
  ended_at          timestamptz,
  duration_ms       bigint,
  outcome           jsonb,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS executor_runs_listing ON executor_runs (requested_at DESC, run_id DESC);
CREATE INDEX IF NOT EXISTS executor_runs_by_workflow ON executor_runs (workflow_id, requested_at DESC, run_id DESC);
-- Admission counts the open runs of one concurrency key, and picks its oldest pending run.
CREATE INDEX IF NOT EXISTS executor_runs_open ON executor_runs (concurrency_key, status, requested_at, run_id)
  WHERE status IN ('pending', 'queued', 'running', 'awaiting_approval');
-- Every run.succeeded refreshes its workflow's baselines from the last N successful runs:
-- without it that was a sort of all the workflow's successful runs, growing with its history.
CREATE INDEX IF NOT EXISTS executor_runs_succeeded ON executor_runs (workflow_id, ended_at DESC, run_id DESC) WHERE status = 'succeeded';

CREATE TABLE IF NOT EXISTS executor_steps (
  run_id            text        NOT NULL,
  step_id           text        NOT NULL,
  workflow_id       text        NOT NULL,
  position          integer     NOT NULL,
  kind              text        NOT NULL,
  needs             text[]      NOT NULL,
  status            text        NOT NULL,
  attempt           integer     NOT NULL DEFAULT 0,
  start_to_close_ms bigint,
  heartbeat_ms      bigint,
  started_at        timestamptz,
  ended_at          timestamptz,
  duration_ms       bigint,
  last_heartbeat_at timestamptz,
  last_error        jsonb,
  PRIMARY KEY (run_id, step_id)
);

CREATE TABLE IF NOT EXISTS executor_step_attempts (
  run_id      text        NOT NULL,
  step_id     text        NOT NULL,
  attempt     integer     NOT NULL,
  queued_at   timestamptz NOT NULL,
  started_at  timestamptz,
  ended_at    timestamptz,
  worker      text,
  outcome     text,
  error       jsonb,
  usage       jsonb,
  PRIMARY KEY (run_id, step_id, attempt)
);

CREATE TABLE IF NOT EXISTS executor_dead_letters (
  id                text        PRIMARY KEY,
  run_id            text        NOT NULL,
  step_id           text        NOT NULL,
  workflow_id       text        NOT NULL,
  version           integer     NOT NULL,
  reason            text        NOT NULL,
  attempts          jsonb       NOT NULL,
  first_failure_at  timestamptz NOT NULL,
  last_failure_at   timestamptz NOT NULL,
  dead_lettered_at  timestamptz NOT NULL,
  status            text        NOT NULL CHECK (status IN ('open', 'requeued', 'discarded')),
  resolved_at       timestamptz,
  resolved_by       text,
  resolution_reason text
);
CREATE INDEX IF NOT EXISTS executor_dead_letters_open ON executor_dead_letters (status, dead_lettered_at DESC, id);

-- What each bulk dead-letter command (requeue_dead_letters, discard_dead_letters) did with each of
-- its ids, written in the transaction that handled the id. The gateway answers the operator from it
-- once the command's command.accepted arrives (everything here committed before that).
CREATE TABLE IF NOT EXISTS executor_dead_letter_actions (
  command_id     text        NOT NULL,
  position       integer     NOT NULL,
  dead_letter_id text        NOT NULL,
  action         text        NOT NULL CHECK (action IN ('requeue', 'discard')),
  outcome        text        NOT NULL CHECK (outcome IN ('requeued', 'discarded', 'skipped')),
  reason         text,
  events         text[]      NOT NULL DEFAULT '{}',
  actor          text,
  recorded_at    timestamptz NOT NULL,
  PRIMARY KEY (command_id, position)
);

CREATE TABLE IF NOT EXISTS executor_approvals (
  run_id       text        NOT NULL,
  step_id      text        NOT NULL,
  workflow_id  text        NOT NULL,
  approvers    text[]      NOT NULL,
  on_timeout   text        NOT NULL,
  status       text        NOT NULL CHECK (status IN ('pending', 'granted', 'rejected', 'timed_out', 'cancelled')),
  escalated    boolean     NOT NULL DEFAULT false,
  requested_at timestamptz NOT NULL,
  due_at       timestamptz NOT NULL,
  decided_by   text,
  comment      text,
  decided_at   timestamptz,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS executor_approvals_pending ON executor_approvals (requested_at, run_id, step_id) WHERE status = 'pending';

-- step_id '' is the whole run. Median and p95 of the last N successful runs, for the alerter.
CREATE TABLE IF NOT EXISTS executor_duration_baselines (
  workflow_id text        NOT NULL,
  step_id     text        NOT NULL,
  samples     integer     NOT NULL,
  median_ms   bigint      NOT NULL,
  p95_ms      bigint      NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (workflow_id, step_id)
);
`;

export async function ensureExecutorSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    const { rows } = await tx.query<{ events: string | null }>(`SELECT to_regclass('events')::text AS events`);
    if (!rows[0]?.events) {
      throw new Error('the event store schema is missing: run `pnpm db:migrate` or start the executor with MIGRATE_ON_START=true');
    }
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
