import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every alerter replica uses the same one.
const SCHEMA_LOCK = 0x414c_5254; // "ALRT"

/**
 * The alerter's projections: the signals it computes from events (run
 * outcomes, dead letters, freshness, budgets), its alerts (read by the
 * gateway and by `steward reports ops`), rules, silences, notification
 * groups and the delivery outbox. Idempotent DDL under an advisory lock.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS alerter_workflows (
  workflow_id       text PRIMARY KEY,
  owner             text NOT NULL,
  runbook           text NOT NULL,
  success_objective double precision,
  freshness_ms      bigint,
  monthly_budget_usd double precision,
  paused            boolean NOT NULL DEFAULT false,
  -- No longer written: the last success is read from alerter_run_outcomes (one probe of its successes
  -- index) rather than updated on every successful run. Kept while replicas of the previous version run.
  last_success_at   timestamptz,
  last_capture_at   timestamptz,
  applied_at        timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS alerter_run_outcomes (
  run_id      text PRIMARY KEY,
  workflow_id text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'timed_out')),
  duration_ms bigint NOT NULL,
  error       text,
  started_at  timestamptz,
  ended_at    timestamptz NOT NULL
);
-- Newest runs and newest successes in the rules' order (ended_at, run_id), read without a sort for every
-- evaluated workflow; the first also serves the window counts (it replaced (workflow_id, ended_at DESC)).
CREATE INDEX IF NOT EXISTS alerter_run_outcomes_newest ON alerter_run_outcomes (workflow_id, ended_at DESC, run_id DESC);
CREATE INDEX IF NOT EXISTS alerter_run_outcomes_newest_successes ON alerter_run_outcomes (workflow_id, ended_at DESC, run_id DESC) WHERE outcome = 'succeeded';
DROP INDEX IF EXISTS alerter_run_outcomes_by_workflow;

CREATE TABLE IF NOT EXISTS alerter_dead_letters (
  run_id       text NOT NULL,
  step_id      text NOT NULL,
  workflow_id  text NOT NULL,
  error        text,
  dead_lettered_at timestamptz NOT NULL,
  open         boolean NOT NULL DEFAULT true,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS alerter_dead_letters_open ON alerter_dead_letters (workflow_id) WHERE open;

-- Attempts that stopped heartbeating (step.timed_out with timeout heartbeat), open until their run ends.
CREATE TABLE IF NOT EXISTS alerter_stalled_steps (
  run_id      text NOT NULL,
  step_id     text NOT NULL,
  workflow_id text NOT NULL,
  attempt     integer NOT NULL,
  timed_out_at timestamptz NOT NULL,
  open        boolean NOT NULL DEFAULT true,
  PRIMARY KEY (run_id, step_id, attempt)
);
CREATE INDEX IF NOT EXISTS alerter_stalled_steps_open ON alerter_stalled_steps (workflow_id) WHERE open;

-- Step attempts: where each went (step.queued target), when it started, how it ended (per-step and per-service signals).
CREATE TABLE IF NOT EXISTS alerter_step_attempts (
  run_id      text NOT NULL,
  step_id     text NOT NULL,
  attempt     integer NOT NULL,
  workflow_id text NOT NULL,
  service     text,
  queued_at   timestamptz,
  started_at  timestamptz,
  outcome     text CHECK (outcome IN ('succeeded', 'failed', 'timed_out')),
  duration_ms bigint,
  error       text,
  ended_at    timestamptz,
  PRIMARY KEY (run_id, step_id, attempt)
);
CREATE INDEX IF NOT EXISTS alerter_step_attempts_ended ON alerter_step_attempts (workflow_id, step_id, ended_at DESC) WHERE outcome IS NOT NULL;

-- Fetches per source: collection.raw_captured (ok) and collection.failed, keyed by event id.
CREATE TABLE IF NOT EXISTS alerter_source_outcomes (
  event_id    text PRIMARY KEY,
  source      text NOT NULL,
  workflow_id text,
  ok          boolean NOT NULL,
  error       text,
  at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alerter_source_outcomes_by_source ON alerter_source_outcomes (source, at DESC);

-- The service a dead-lettered step targeted (from its step.queued), for per-service dead-letter growth.
ALTER TABLE alerter_dead_letters ADD COLUMN IF NOT EXISTS service text;
CREATE INDEX IF NOT EXISTS alerter_dead_letters_open_by_service ON alerter_dead_letters (service) WHERE open;

CREATE TABLE IF NOT EXISTS alerter_budgets (
  scope        text NOT NULL,
  id           text NOT NULL,
  period       text NOT NULL,
  threshold    text NOT NULL,
  state        text NOT NULL,
  owner        text,
  workflow_id  text,
  spent_micros bigint NOT NULL,
  budget_micros bigint NOT NULL,
  forecast_micros bigint NOT NULL,
  at           timestamptz NOT NULL,
  PRIMARY KEY (scope, id, period, threshold)
);

CREATE TABLE IF NOT EXISTS alerter_alerts (
  alert_id          text PRIMARY KEY,
  fingerprint       text NOT NULL,
  rule              text NOT NULL,
  severity          text NOT NULL,
  owner             text,
  workflow_id       text,
  state             text NOT NULL CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved')),
  summary           text,
  labels            jsonb NOT NULL,
  runbook           text,
  impact_started_at timestamptz,
  pending_at        timestamptz NOT NULL,
  fired_at          timestamptz,
  acknowledged_at   timestamptz,
  resolved_at       timestamptz,
  notified          boolean NOT NULL DEFAULT false,
  acknowledged_by   text,
  resolved_reason   text,
  last_error        text,
  value             double precision,
  inactive_since    timestamptz,
  -- What evaluates it: workflow:<id>, budget, channels (an open alert no condition names any more clears).
  scope             text NOT NULL,
  for_ms            bigint NOT NULL DEFAULT 0,
  keep_firing_for_ms bigint NOT NULL DEFAULT 0,
  stream_version    integer NOT NULL
);
CREATE INDEX IF NOT EXISTS alerter_alerts_scope ON alerter_alerts (scope) WHERE state <> 'resolved';
-- One open alert per fingerprint: a trigger after a resolve opens a new one.
CREATE UNIQUE INDEX IF NOT EXISTS alerter_alerts_open ON alerter_alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX IF NOT EXISTS alerter_alerts_listing ON alerter_alerts (pending_at DESC, alert_id DESC);
CREATE INDEX IF NOT EXISTS alerter_alerts_by_workflow ON alerter_alerts (workflow_id) WHERE state <> 'resolved';

CREATE TABLE IF NOT EXISTS alerter_rule_sets (
  id         integer PRIMARY KEY CHECK (id = 1),
  hash       text NOT NULL,
  spec       jsonb NOT NULL,
  file       text,
  applied_by text,
  applied_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS alerter_silences (
  silence_id text PRIMARY KEY,
  matchers   jsonb NOT NULL,
  starts_at  timestamptz NOT NULL,
  ends_at    timestamptz NOT NULL,
  created_by text NOT NULL,
  comment    text,
  created_at timestamptz NOT NULL,
  expired_at timestamptz,
  expired_by text
);

CREATE TABLE IF NOT EXISTS alerter_groups (
  group_key       text PRIMARY KEY,
  receiver        text NOT NULL,
  labels          jsonb NOT NULL,
  next_flush_at   timestamptz,
  last_flushed_at timestamptz,
  flushes         integer NOT NULL DEFAULT 0,
  notified_alerts jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alerter_groups_due ON alerter_groups (next_flush_at) WHERE next_flush_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS alerter_group_members (
  group_key text NOT NULL,
  alert_id  text NOT NULL,
  PRIMARY KEY (group_key, alert_id)
);

-- The delivery outbox: a row is written in the transaction that decided the
-- notification; delivery happens after commit, at least once, keyed by dedupe_key.
CREATE TABLE IF NOT EXISTS alerter_notifications (
  notification_id text PRIMARY KEY,
  dedupe_key      text NOT NULL,
  receiver        text NOT NULL,
  channel         text NOT NULL,
  group_key       text NOT NULL,
  alert_ids       text[] NOT NULL,
  message         jsonb NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alerter_notifications_due ON alerter_notifications (next_attempt_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS alerter_channels (
  receiver             text PRIMARY KEY,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_error           text,
  failing_since        timestamptz,
  updated_at           timestamptz NOT NULL
);

-- Services seen in the presence directory: one that was seen and is gone is down.
CREATE TABLE IF NOT EXISTS alerter_services (
  service       text PRIMARY KEY,
  first_seen_at timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL
);

-- Commands an alert's action sends (pause_workflow, disable_source), sent after commit.
CREATE TABLE IF NOT EXISTS alerter_outbox_commands (
  command_id text PRIMARY KEY,
  service    text NOT NULL,
  name       text NOT NULL,
  payload    jsonb NOT NULL,
  correlation_id text NOT NULL,
  sent_at    timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS alerter_outbox_commands_unsent ON alerter_outbox_commands (created_at) WHERE sent_at IS NULL;
`;

export async function ensureAlerterSchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    const { rows } = await tx.query<{ events: string | null }>(`SELECT to_regclass('events')::text AS events`);
    if (!rows[0]?.events) {
      throw new Error('the event store schema is missing: run `pnpm db:migrate` or start the alerter with MIGRATE_ON_START=true');
    }
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
