import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every cost-tracker replica uses the same one.
const SCHEMA_LOCK = 0x434f_5354; // "COST"

/**
 * The cost tracker's tables. Cost records are projection rows derived from
 * usage events (key: source event id + line), written in the same
 * transaction as the inbox entry of the event they come from. Money columns
 * are bigint micro-USD; rates are numeric micro-USD per unit (exact
 * fractions). The gateway reads these tables read-only.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS cost_workflows (
  workflow_id   text        PRIMARY KEY,
  version       integer     NOT NULL,
  owner         text        NOT NULL,
  budget_micros bigint,
  updated_at    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS cost_workflow_versions (
  workflow_id text    NOT NULL,
  version     integer NOT NULL,
  owner       text    NOT NULL,
  PRIMARY KEY (workflow_id, version)
);

CREATE TABLE IF NOT EXISTS cost_runs (
  run_id       text        PRIMARY KEY,
  workflow_id  text        NOT NULL,
  version      integer     NOT NULL,
  owner        text,
  status       text        NOT NULL,
  requested_at timestamptz NOT NULL,
  ended_at     timestamptz,
  duration_ms  bigint
);
CREATE INDEX IF NOT EXISTS cost_runs_by_workflow ON cost_runs (workflow_id, requested_at);
CREATE INDEX IF NOT EXISTS cost_runs_by_time ON cost_runs (requested_at);

CREATE TABLE IF NOT EXISTS cost_steps (
  run_id  text NOT NULL,
  step_id text NOT NULL,
  kind    text NOT NULL,
  service text NOT NULL,
  queue   text,
  PRIMARY KEY (run_id, step_id)
);

CREATE TABLE IF NOT EXISTS cost_prices (
  match       text        NOT NULL,
  unit        text        NOT NULL DEFAULT '',
  from_at     timestamptz NOT NULL,
  rate_micros numeric     NOT NULL CHECK (rate_micros >= 0),
  description text,
  applied_at  timestamptz NOT NULL,
  PRIMARY KEY (match, unit, from_at)
);

-- Bumped whenever prices change, so replicas know to reload their price cache.
CREATE TABLE IF NOT EXISTS cost_meta (
  key   text   PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO cost_meta (key, value) VALUES ('prices_version', 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS cost_records (
  source_event_id  uuid        NOT NULL,
  line             integer     NOT NULL,
  event_type       text        NOT NULL,
  occurred_at      timestamptz NOT NULL,
  period           text        NOT NULL,
  resource         text        NOT NULL,
  unit             text        NOT NULL,
  quantity         numeric     NOT NULL,
  duration_ms      bigint,
  rate_micros      numeric,
  rate_source      text        NOT NULL CHECK (rate_source IN ('price', 'reported', 'unpriced')),
  price_match      text,
  price_from       timestamptz,
  amount_micros    bigint      NOT NULL,
  workflow_id      text,
  workflow_version integer,
  run_id           text,
  step_id          text,
  service          text        NOT NULL,
  queue            text,
  owner            text,
  environment      text        NOT NULL,
  recorded_at      timestamptz NOT NULL,
  PRIMARY KEY (source_event_id, line)
);
-- Records arrive roughly in time order and every read is a time window: a BRIN index
-- costs almost nothing to keep up at ingest rates a B-tree would slow down.
CREATE INDEX IF NOT EXISTS cost_records_by_time ON cost_records USING brin (occurred_at);
-- Capacity planning reads task wall time only: a partial index keeps the other records from paying for it.
CREATE INDEX IF NOT EXISTS cost_records_wall_time ON cost_records (occurred_at) WHERE resource = 'wall-seconds';

-- Running spend per budget scope and month (in COST_TIMEZONE), and per local day for the forecast band.
CREATE TABLE IF NOT EXISTS cost_spend (
  scope        text   NOT NULL,
  id           text   NOT NULL,
  period       text   NOT NULL,
  spent_micros bigint NOT NULL,
  PRIMARY KEY (scope, id, period)
);
CREATE TABLE IF NOT EXISTS cost_spend_daily (
  scope  text   NOT NULL,
  id     text   NOT NULL,
  day    date   NOT NULL,
  period text   NOT NULL,
  micros bigint NOT NULL,
  PRIMARY KEY (scope, id, day)
);

CREATE TABLE IF NOT EXISTS cost_budgets (
  scope          text        NOT NULL,
  id             text        NOT NULL,
  monthly_micros bigint      NOT NULL,
  thresholds     jsonb       NOT NULL,
  origin         text        NOT NULL,
  set_at         timestamptz NOT NULL,
  PRIMARY KEY (scope, id)
);

CREATE TABLE IF NOT EXISTS cost_threshold_states (
  scope           text        NOT NULL,
  id              text        NOT NULL,
  period          text        NOT NULL,
  key             text        NOT NULL,
  state           text        NOT NULL CHECK (state IN ('ALARM', 'OK')),
  spent_micros    bigint      NOT NULL,
  forecast_micros bigint      NOT NULL,
  changed_at      timestamptz NOT NULL,
  PRIMARY KEY (scope, id, period, key)
);

-- The latest capacity plan per task queue ('_total' for all), refreshed by the cost tracker.
CREATE TABLE IF NOT EXISTS cost_capacity_plans (
  queue       text        PRIMARY KEY,
  computed_at timestamptz NOT NULL,
  plan        jsonb       NOT NULL
);

-- Month-end forecasts with their band, per budget scope, refreshed with the capacity plan.
CREATE TABLE IF NOT EXISTS cost_forecasts (
  scope           text        NOT NULL,
  id              text        NOT NULL,
  period          text        NOT NULL,
  spent_micros    bigint      NOT NULL,
  forecast_micros bigint      NOT NULL,
  low_micros      bigint      NOT NULL,
  high_micros     bigint      NOT NULL,
  computed_at     timestamptz NOT NULL,
  PRIMARY KEY (scope, id, period)
);

-- Presence sampled by the cost tracker: the source of per-service uptime in the ops report.
CREATE TABLE IF NOT EXISTS cost_uptime_samples (
  service    text        NOT NULL,
  sampled_at timestamptz NOT NULL,
  up         boolean     NOT NULL,
  PRIMARY KEY (service, sampled_at)
);
CREATE INDEX IF NOT EXISTS cost_uptime_by_time ON cost_uptime_samples (sampled_at);

-- Settings readers need to interpret these tables (the budget time zone).
CREATE TABLE IF NOT EXISTS cost_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- Stored event volume per emitting service and UTC day.
CREATE TABLE IF NOT EXISTS cost_event_volume (
  source text   NOT NULL,
  day    date   NOT NULL,
  events bigint NOT NULL,
  PRIMARY KEY (source, day)
);
`;

export async function ensureCostSchema(pool: Pool, settings: { timeZone?: string } = {}): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
    if (settings.timeZone !== undefined) {
      await tx.query(`INSERT INTO cost_settings (key, value) VALUES ('timezone', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [settings.timeZone]);
    }
  });
}
