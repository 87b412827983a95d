import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every ledger replica uses the same one.
const SCHEMA_LOCK = 0x4c45_4447; // "LEDG"

/**
 * The ledger's replay tables. `ledger_replays` is the projection of the
 * `replay-<id>` streams (plus the consumer's completion), read by the
 * gateway for `replay status`; it changes in the same transaction as the
 * replay events it follows. `ledger_replay_checkpoints` is each replay's
 * read position, advanced only after JetStream acknowledged the page.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger_replays (
  replay_id           text        PRIMARY KEY,
  kind                text        NOT NULL,
  selection           jsonb       NOT NULL,
  transform           text,
  consumer            text        NOT NULL,
  dry_run             boolean     NOT NULL,
  total               bigint      NOT NULL,
  published           bigint      NOT NULL DEFAULT 0,
  -- The consumer's own count once it reported completion (transformation.replay_completed).
  applied             bigint,
  up_to_transaction   xid8        NOT NULL,
  up_to_position      bigint      NOT NULL,
  -- publishing -> published -> completed; or failed / cancelled.
  state               text        NOT NULL,
  requested_by        text,
  started_at          timestamptz NOT NULL,
  published_at        timestamptz,
  completed_at        timestamptz,
  failed              jsonb,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_replays_active ON ledger_replays (started_at, replay_id) WHERE state IN ('publishing', 'published');

CREATE TABLE IF NOT EXISTS ledger_replay_checkpoints (
  replay_id       text        PRIMARY KEY,
  transaction_id  xid8        NOT NULL,
  global_position bigint      NOT NULL,
  published       bigint      NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

`;

/** Idempotent DDL under an advisory lock: two replicas starting together would otherwise race on the catalog. */
export async function ensureLedgerSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
