import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every transformer replica uses the same one.
const SCHEMA_LOCK = 0x5452_4e53; // "TRNS"

/**
 * The transformer's tables. Datasets are rows keyed by (dataset, version,
 * key); every row names the capture and transform version that produced it.
 * The gateway reads them read-only. Idempotent DDL under an advisory lock:
 * two replicas starting together would otherwise race on the catalog.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS transformer_rows (
  dataset     text        NOT NULL,
  version     integer     NOT NULL,
  key         text        NOT NULL,
  data        jsonb       NOT NULL,
  -- sha-256 of the canonical JSON of data: an upsert that changes nothing writes nothing
  hash        text        NOT NULL,
  capture_id  uuid        NOT NULL,
  transform   text        NOT NULL,
  -- when the producing capture was taken: an older capture never overwrites a newer one's row
  captured_at timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (dataset, version, key)
);

CREATE TABLE IF NOT EXISTS transformer_quarantine (
  dataset        text        NOT NULL,
  version        integer     NOT NULL,
  capture_id     uuid        NOT NULL,
  transform      text        NOT NULL,
  row_index      integer     NOT NULL,
  reason         text        NOT NULL,
  issues         jsonb       NOT NULL,
  raw            jsonb,
  replay_id      text,
  quarantined_at timestamptz NOT NULL,
  PRIMARY KEY (capture_id, transform, row_index)
);
CREATE INDEX IF NOT EXISTS transformer_quarantine_listing ON transformer_quarantine (dataset, version, quarantined_at DESC);

CREATE TABLE IF NOT EXISTS transformer_datasets (
  dataset           text        PRIMARY KEY,
  current_version   integer,
  promoted_by       text,
  promoted_at       timestamptz,
  -- freshness: the last capture completed into the current version
  last_completed_at timestamptz,
  created_at        timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS transformer_dataset_versions (
  dataset           text        NOT NULL,
  version           integer     NOT NULL,
  transform         text        NOT NULL,
  rows              bigint      NOT NULL DEFAULT 0,
  quarantined       bigint      NOT NULL DEFAULT 0,
  captures          bigint      NOT NULL DEFAULT 0,
  replay_id         text,
  created_at        timestamptz NOT NULL,
  last_completed_at timestamptz,
  PRIMARY KEY (dataset, version)
);

-- One row per (capture, transform): the idempotency key of a transformation,
-- whichever path (live event, workflow step, replay) got there first.
CREATE TABLE IF NOT EXISTS transformer_applications (
  capture_id      uuid        NOT NULL,
  transform       text        NOT NULL,
  dataset         text        NOT NULL,
  dataset_version integer     NOT NULL,
  replay_id       text,
  counts          jsonb,
  max_change_pct  double precision,
  error           jsonb,
  applied_at      timestamptz NOT NULL,
  PRIMARY KEY (capture_id, transform)
);

CREATE TABLE IF NOT EXISTS transformer_replays (
  replay_id       text        PRIMARY KEY,
  transform       text        NOT NULL,
  dataset         text,
  dataset_version integer,
  -- the dataset's current version when the replay started: what replay diff compares against
  base_version    integer,
  dry_run         boolean     NOT NULL,
  total           bigint      NOT NULL,
  processed       bigint      NOT NULL DEFAULT 0,
  published       boolean     NOT NULL DEFAULT false,
  rows            bigint      NOT NULL DEFAULT 0,
  upserted        bigint      NOT NULL DEFAULT 0,
  unchanged       bigint      NOT NULL DEFAULT 0,
  quarantined     bigint      NOT NULL DEFAULT 0,
  failed          bigint      NOT NULL DEFAULT 0,
  error           jsonb,
  diff            jsonb,
  started_at      timestamptz NOT NULL,
  completed_at    timestamptz
);

-- replay.published seen, kept apart from transformer_replays so it counts even when it is
-- handled (by another replica) before replay.started.
CREATE TABLE IF NOT EXISTS transformer_replay_published (
  replay_id    text        PRIMARY KEY,
  published_at timestamptz NOT NULL
);

-- Replays meant for another service (rebuilds, other consumers): their messages share the
-- REPLAY stream and this service's filter, and are acked untouched.
CREATE TABLE IF NOT EXISTS transformer_foreign_replays (
  replay_id  text        PRIMARY KEY,
  consumer   text        NOT NULL,
  started_at timestamptz NOT NULL
);

-- Which transform steps follow which collect step, from the latest workflow.applied.
CREATE TABLE IF NOT EXISTS transformer_workflow_steps (
  workflow_id    text    NOT NULL,
  collect_step   text    NOT NULL,
  transform_step text    NOT NULL,
  transform      text    NOT NULL,
  version        integer NOT NULL,
  PRIMARY KEY (workflow_id, collect_step, transform_step)
);
`;

export async function ensureTransformerSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
