import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every scheduler replica uses the same one.
const SCHEMA_LOCK = 0x5343_4844; // "SCHD"

/**
 * The scheduler's projection tables, rebuilt from its own streams and the
 * timer events. Idempotent DDL under an advisory lock: two replicas starting
 * together would otherwise race on the catalog. The gateway reads
 * scheduler_workflows (read-only) for `steward workflows list|show`.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS scheduler_workflows (
  id              text        PRIMARY KEY,
  version         integer     NOT NULL,
  hash            text        NOT NULL,
  definition      jsonb       NOT NULL,
  owner           text        NOT NULL,
  runbook         text        NOT NULL,
  paused          boolean     NOT NULL DEFAULT false,
  -- Version of the workflow-<id> stream this row reflects: an older event never overwrites a newer one.
  stream_version  integer     NOT NULL,
  -- For event triggers: the type listened to, and the position of the apply
  -- that set it, so events stored before the trigger existed start nothing.
  trigger_on      text,
  trigger_after   bigint,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS scheduler_workflows_trigger ON scheduler_workflows (trigger_on) WHERE trigger_on IS NOT NULL;

-- One row per workflow version history entry, for "show": which versions exist and when.
CREATE TABLE IF NOT EXISTS scheduler_workflow_versions (
  workflow_id text        NOT NULL,
  version     integer     NOT NULL,
  hash        text        NOT NULL,
  file        text,
  applied_at  timestamptz NOT NULL,
  applied_by  text,
  PRIMARY KEY (workflow_id, version)
);

-- last_fired_at is the schedule's cursor: every occurrence at or before it
-- was fired or recorded as missed. next_due_at is when the next one fires
-- (its nominal time plus jitter); NULL when there is none (event triggers, a past one-off).
CREATE TABLE IF NOT EXISTS scheduler_schedules (
  workflow_id   text        PRIMARY KEY,
  last_fired_at timestamptz NOT NULL,
  next_due_at   timestamptz
);
CREATE INDEX IF NOT EXISTS scheduler_schedules_due ON scheduler_schedules (next_due_at) WHERE next_due_at IS NOT NULL;

-- A cancellation may arrive before its request (two events consumed in
-- parallel), so a row can exist with only the cancellation known: due_at nullable.
CREATE TABLE IF NOT EXISTS scheduler_timers (
  timer_id    text        PRIMARY KEY,
  owner       text        NOT NULL,
  due_at      timestamptz,
  payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  correlation jsonb       NOT NULL DEFAULT '{}'::jsonb,
  fired       boolean     NOT NULL DEFAULT false,
  cancelled   boolean     NOT NULL DEFAULT false,
  context     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS scheduler_timers_due ON scheduler_timers (due_at) WHERE NOT fired AND NOT cancelled;
`;

export async function ensureSchedulerSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    const { rows } = await tx.query<{ events: string | null }>(`SELECT to_regclass('events')::text AS events`);
    if (!rows[0]?.events) {
      throw new Error('the event store schema is missing: run `pnpm db:migrate` or start the scheduler with MIGRATE_ON_START=true');
    }
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
