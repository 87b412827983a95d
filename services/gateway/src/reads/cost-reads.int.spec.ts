import { createPool, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';
import { CostReconciliationChecker } from './cost-reads.repository';

// The part of the cost tracker's, executor's and alerter's tables these reads use (each service owns its DDL).
const COST_TABLES = `
CREATE TABLE cost_records (
  source_event_id uuid NOT NULL, line integer NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL, period text NOT NULL,
  resource text NOT NULL, unit text NOT NULL, quantity numeric NOT NULL, duration_ms bigint, rate_micros numeric, rate_source text NOT NULL,
  price_match text, price_from timestamptz, amount_micros bigint NOT NULL, workflow_id text, workflow_version integer, run_id text, step_id text,
  service text NOT NULL, queue text, owner text, environment text NOT NULL, recorded_at timestamptz NOT NULL, PRIMARY KEY (source_event_id, line));
CREATE TABLE cost_runs (run_id text PRIMARY KEY, workflow_id text NOT NULL, version integer NOT NULL, owner text, status text NOT NULL,
  requested_at timestamptz NOT NULL, ended_at timestamptz, duration_ms bigint);
CREATE TABLE cost_prices (match text NOT NULL, unit text NOT NULL DEFAULT '', from_at timestamptz NOT NULL, rate_micros numeric NOT NULL,
  description text, applied_at timestamptz NOT NULL, PRIMARY KEY (match, unit, from_at));
CREATE TABLE cost_spend (scope text NOT NULL, id text NOT NULL, period text NOT NULL, spent_micros bigint NOT NULL, PRIMARY KEY (scope, id, period));
CREATE TABLE cost_spend_daily (scope text NOT NULL, id text NOT NULL, day date NOT NULL, period text NOT NULL, micros bigint NOT NULL, PRIMARY KEY (scope, id, day));
CREATE TABLE cost_budgets (scope text NOT NULL, id text NOT NULL, monthly_micros bigint NOT NULL, thresholds jsonb NOT NULL, origin text NOT NULL,
  set_at timestamptz NOT NULL, PRIMARY KEY (scope, id));
CREATE TABLE cost_threshold_states (scope text NOT NULL, id text NOT NULL, period text NOT NULL, key text NOT NULL, state text NOT NULL,
  spent_micros bigint NOT NULL, forecast_micros bigint NOT NULL, changed_at timestamptz NOT NULL, PRIMARY KEY (scope, id, period, key));
CREATE TABLE cost_forecasts (scope text NOT NULL, id text NOT NULL, period text NOT NULL, spent_micros bigint NOT NULL, forecast_micros bigint NOT NULL,
  low_micros bigint NOT NULL, high_micros bigint NOT NULL, computed_at timestamptz NOT NULL, PRIMARY KEY (scope, id, period));
CREATE TABLE cost_settings (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE cost_uptime_samples (service text NOT NULL, sampled_at timestamptz NOT NULL, up boolean NOT NULL, PRIMARY KEY (service, sampled_at));
CREATE TABLE cost_capacity_plans (queue text PRIMARY KEY, computed_at timestamptz NOT NULL, plan jsonb NOT NULL);
`;
const EXECUTOR_AND_ALERTER_TABLES = `
CREATE TABLE executor_runs (run_id text PRIMARY KEY, workflow_id text NOT NULL, status text NOT NULL, requested_at timestamptz NOT NULL);
CREATE TABLE alerter_alerts (alert_id text PRIMARY KEY, fingerprint text, rule text, severity text NOT NULL, owner text, workflow_id text, state text,
  summary text, labels jsonb, runbook text, impact_started_at timestamptz, pending_at timestamptz, fired_at timestamptz,
  acknowledged_at timestamptz, resolved_at timestamptz, notified boolean);
`;

describe('cost reads and the ops report', () => {
  const env = useTestEnvironment({ label: 'gwcosts', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;
  const period = new Date().toISOString().slice(0, 7);
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

  async function record(line: number, workflow: string | null, owner: string | null, run: string | null, service: string, micros: number, resource = 'cpu-seconds', quantity = '1') {
    await pool.query(
      `INSERT INTO cost_records (source_event_id, line, event_type, occurred_at, period, resource, unit, quantity, rate_source, amount_micros, workflow_id, run_id, step_id, service, owner, environment, recorded_at)
       VALUES (gen_random_uuid(), $1, 'step.succeeded', $2, $3, $4, 'seconds', $5, 'price', $6, $7, $8, 'work', $9, $10, 'prod', now())`,
      [line, hoursAgo(2), period, resource, quantity, micros, workflow, run, service, owner],
    );
  }

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 3 }));
    gw = await startGateway(env);
  });

  it('says the cost tracker is not running before it ever created its tables, and lists every ops part as missing', async () => {
    const res = await gw.request('GET', '/api/v1/costs/report', { query: { by: 'workflow' } });
    expect(res.status).toBe(503);
    expect(res.text).toContain('cost-tracker');
    const ops = await gw.request('GET', '/api/v1/reports/ops');
    expect(ops.status).toBe(200);
    expect(ops.body.successRate).toBeUndefined();
    expect(ops.body.missing.map((m: { part: string; service: string }) => `${m.part}:${m.service}`)).toEqual([
      'uptime:cost-tracker',
      'successRate:executor',
      'mttd:alerter',
      'mtta:alerter',
      'mttr:alerter',
      'alertFatigue:alerter',
      'incidentsBySeverity:alerter',
      'capacity:cost-tracker',
      'spend:cost-tracker',
    ]);
    expect((await new CostReconciliationChecker(pool).check()).ok).toBe(true);
  });

  it('groups exact costs by workflow, owner, service and step, with weekly cost against performance', async () => {
    await pool.query(COST_TABLES);
    await record(0, 'nightly', 'data-team', 'r1', 'worker', 1_234_567);
    await record(1, 'nightly', 'data-team', 'r2', 'worker', 1);
    await record(20, 'nightly', 'data-team', 'r2', 'transformer', 500_000, 'transform-rows', '1000');
    await record(0, 'prices', 'pricing', 'r3', 'collector', 2_000_000);
    await record(900, null, null, null, 'ledger', 7);
    await pool.query(`INSERT INTO cost_runs VALUES ('r1', 'nightly', 1, 'data-team', 'succeeded', $1, $1, 1000), ('r2', 'nightly', 1, 'data-team', 'failed', $1, $1, 3000), ('r3', 'prices', 1, 'pricing', 'succeeded', $1, $1, 500)`, [hoursAgo(2)]);
    await pool.query(`INSERT INTO cost_budgets VALUES ('workflow', 'nightly', 10000000, '[{"kind":"forecast","percent":100},{"kind":"actual","percent":50}]', 'workflow', now())`);
    await pool.query(`INSERT INTO cost_spend VALUES ('workflow', 'nightly', $1, 1734568)`, [period]);

    const res = await gw.request('GET', '/api/v1/costs/report', { query: { by: 'workflow', since: '1d' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ by: 'workflow', since: '1d', totalMicros: '3734575', totalUsd: '3.734575' });
    expect(res.body.items).toEqual([
      { key: 'prices', costMicros: '2000000', usd: '2.00', runs: 1, records: 1, usdPerRun: '2.00' },
      { key: 'nightly', costMicros: '1734568', usd: '1.734568', runs: 2, records: 3, usdPerRun: '0.867284', budgetMicros: '10000000', budgetUsd: '10.00', monthSpentMicros: '1734568', budgetUsed: 0.1734 },
      { key: '(none)', costMicros: '7', usd: '0.000007', runs: 0, records: 1 },
    ]);
    const nightly = res.body.performance.find((p: { workflow: string }) => p.workflow === 'nightly');
    expect(nightly).toMatchObject({ costMicros: '1734568', runs: 2, succeeded: 1, successRate: 0.5, usdPerSuccessfulRun: '1.734568', rows: 1000, microsPerRow: '1734.568', p50DurationMs: 1000 });

    const byService = await gw.request('GET', '/api/v1/costs/report', { query: { by: 'service' } });
    expect(byService.body.items.map((i: { key: string; costMicros: string }) => `${i.key}=${i.costMicros}`)).toEqual(['collector=2000000', 'worker=1234568', 'transformer=500000', 'ledger=7']);
    const byStep = await gw.request('GET', '/api/v1/costs/report', { query: { by: 'step' } });
    expect(byStep.body.items[0].key).toBe('prices/work');
  });

  it('lists budgets with this month’s spend, forecast band and threshold states, and prices page by page', async () => {
    await pool.query(`INSERT INTO cost_forecasts VALUES ('workflow', 'nightly', $1, 1734568, 5000000, 4000000, 6000000, now())`, [period]);
    await pool.query(`INSERT INTO cost_threshold_states VALUES ('workflow', 'nightly', $1, 'actual:50%', 'ALARM', 0, 0, now())`, [period]);
    const budgets = await gw.request('GET', '/api/v1/budgets');
    expect(budgets.body.items).toEqual([
      expect.objectContaining({
        scope: 'workflow',
        id: 'nightly',
        period,
        monthlyUsd: '10.00',
        spentMicros: '1734568',
        forecast: expect.objectContaining({ usd: '5.00', lowUsd: '4.00', highUsd: '6.00' }),
        thresholds: [{ kind: 'forecast', percent: 100, state: 'OK' }, { kind: 'actual', percent: 50, state: 'ALARM' }],
      }),
    ]);

    await pool.query(`INSERT INTO cost_prices VALUES ('cpu-seconds', '', '2026-12-01T00:00:00Z', 100, NULL, now()), ('cpu-seconds', '', '2026-12-15T00:00:00Z', 150, NULL, now()), ('api:*', 'tokens', '2026-12-01T00:00:00Z', 1.5, 'tokens', now())`);
    const first = await gw.request('GET', '/api/v1/prices', { query: { limit: '2' } });
    expect(first.body.items.map((p: { match: string; usd: string }) => `${p.match}@${p.usd}`)).toEqual(['api:*@0.0000015', 'cpu-seconds@0.0001']);
    const second = await gw.request('GET', '/api/v1/prices', { query: { limit: '2', cursor: first.body.next } });
    expect(second.body.items).toEqual([expect.objectContaining({ match: 'cpu-seconds', rateMicros: '150', usd: '0.00015', effectiveFrom: '2026-12-15T00:00:00.000Z' })]);
    expect(second.body.next).toBeUndefined();
    expect((await gw.request('GET', '/api/v1/prices', { query: { cursor: 'bm9wZQ' } })).status).toBe(400);
  });

  it('computes uptime, success rate, MTTD, MTTA, MTTR, alert fatigue, incidents and capacity from their owners’ tables', async () => {
    await pool.query(EXECUTOR_AND_ALERTER_TABLES);
    await pool.query(`INSERT INTO executor_runs VALUES ('a', 'w', 'succeeded', $1), ('b', 'w', 'succeeded', $1), ('c', 'w', 'failed', $1), ('d', 'w', 'cancelled', $1)`, [hoursAgo(1)]);
    await pool.query(
      `INSERT INTO alerter_alerts (alert_id, severity, impact_started_at, fired_at, acknowledged_at, resolved_at) VALUES
       ('x', 'critical', $1::timestamptz - interval '2 minutes', $1, $1::timestamptz + interval '5 minutes', $1::timestamptz + interval '30 minutes'),
       ('y', 'warning', $1::timestamptz - interval '4 minutes', $1, NULL, $1::timestamptz + interval '10 minutes')`,
      [hoursAgo(3)],
    );
    await pool.query(`INSERT INTO cost_uptime_samples VALUES ('executor', $1, true), ('executor', $2, true), ('executor', $3, false), ('executor', $4, true)`, [hoursAgo(4), hoursAgo(3), hoursAgo(2), hoursAgo(1)]);
    await pool.query(`INSERT INTO cost_capacity_plans VALUES ('etl', now(), '{"queue":"etl","forecastUtilisation":0.4,"recommendedReplicas":3}')`);

    const ops = await gw.request('GET', '/api/v1/reports/ops', { query: { since: '7d' } });
    expect(ops.status).toBe(200);
    expect(ops.body.missing).toEqual([]);
    expect(ops.body.uptime.executor).toMatchObject({ ratio: 0.75, samples: 4 });
    expect(ops.body.successRate).toEqual({ ratio: 2 / 3, runs: 3, byStatus: { cancelled: 1, failed: 1, succeeded: 2 } });
    expect(ops.body.mttd).toEqual({ ms: 180_000, alerts: 2 });
    expect(ops.body.mtta).toEqual({ ms: 300_000, alerts: 1 });
    expect(ops.body.mttr).toEqual({ ms: 1_200_000, alerts: 2 });
    expect(ops.body.alertFatigue).toMatchObject({ firedAlerts: 2, neverAcknowledgedRatio: 0.5 });
    expect(ops.body.incidentsBySeverity).toEqual({ critical: 1, warning: 1 });
    expect(ops.body.capacity.etl).toMatchObject({ recommendedReplicas: 3 });
    expect(ops.body.spend).toMatchObject({ totalMicros: '3734575', usd: '3.734575' });
  });

  it('reconciles cost records with the budget counters for steward verify', async () => {
    await pool.query(`INSERT INTO cost_spend_daily VALUES ('workflow', 'nightly', current_date, $1, 1734568)`, [period]);
    await pool.query(`INSERT INTO cost_spend VALUES ('workflow', 'prices', $1, 2000000), ('owner', 'data-team', $1, 1734568), ('owner', 'pricing', $1, 2000000)`, [period]);
    await pool.query(`INSERT INTO cost_spend_daily VALUES ('workflow', 'prices', current_date, $1, 2000000), ('owner', 'data-team', current_date, $1, 1734568), ('owner', 'pricing', current_date, $1, 2000000)`, [period]);
    const checker = new CostReconciliationChecker(pool);
    expect(await checker.check()).toMatchObject({ ok: true, total: '3734575', byRuns: '3734575', byServices: '3734575', byWorkflows: '3734575' });
    await pool.query(`UPDATE cost_spend SET spent_micros = spent_micros + 1 WHERE id = 'pricing'`);
    const broken = await checker.check();
    expect(broken.ok).toBe(false);
    expect(broken.detail).toContain('1 budget counters differ from their records');
  });
});
