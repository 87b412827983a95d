import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every collector replica uses the same one.
const SCHEMA_LOCK = 0x434f_4c4c; // "COLL"

/**
 * The collector's own tables. `collector_source_limits` holds one row per
 * source: its token bucket (rate limit), locked FOR UPDATE by whichever
 * replica takes a token, so the limit holds across replicas.
 * `collector_source_leases` are concurrency slots with an expiry, so a
 * replica that dies mid-fetch frees its slot by itself.
 * `collector_attempts` remembers what each attempt came to, written in the
 * transaction that recorded the capture or failure, so a redelivered
 * step.queued re-reports the same outcome without fetching again.
 * `collector_sources` is the projection of the `source-<source>` streams:
 * whether a source is disabled, by whom, why, and whether by an automated
 * action (which `workflow.resumed` undoes); `stream_version` is the expected
 * version of the next append.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS collector_source_limits (
  source     text             PRIMARY KEY,
  tokens     double precision NOT NULL,
  refill_at  bigint           NOT NULL,
  updated_at timestamptz      NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS collector_source_leases (
  source     text        NOT NULL,
  lease_id   text        NOT NULL,
  holder     text        NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (source, lease_id)
);

CREATE TABLE IF NOT EXISTS collector_attempts (
  run_id      text        NOT NULL,
  step_id     text        NOT NULL,
  attempt     integer     NOT NULL,
  fingerprint text        NOT NULL,
  outcome     jsonb       NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step_id, attempt)
);

CREATE TABLE IF NOT EXISTS collector_sources (
  source         text        PRIMARY KEY,
  workflow_id    text,
  disabled       boolean     NOT NULL,
  automated      boolean     NOT NULL,
  reason         text,
  changed_by     text,
  changed_at     timestamptz NOT NULL,
  stream_version integer     NOT NULL
);

CREATE INDEX IF NOT EXISTS collector_sources_disabled_workflow ON collector_sources (workflow_id) WHERE disabled;
`;

export async function ensureCollectorSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
