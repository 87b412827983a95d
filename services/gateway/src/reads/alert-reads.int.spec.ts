import { createPool, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';

// The part of the alerter's tables these reads use (the alerter owns its DDL).
const ALERTER_TABLES = `
CREATE TABLE alerter_alerts (alert_id text PRIMARY KEY, fingerprint text NOT NULL, rule text NOT NULL, severity text NOT NULL, owner text, workflow_id text,
  state text NOT NULL, summary text, labels jsonb NOT NULL, runbook text, impact_started_at timestamptz, pending_at timestamptz NOT NULL,
  fired_at timestamptz, acknowledged_at timestamptz, resolved_at timestamptz, notified boolean NOT NULL DEFAULT false, acknowledged_by text, last_error text);
CREATE TABLE alerter_silences (silence_id text PRIMARY KEY, matchers jsonb NOT NULL, starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL,
  created_by text NOT NULL, comment text, created_at timestamptz NOT NULL, expired_at timestamptz, expired_by text);
CREATE TABLE alerter_rule_sets (id integer PRIMARY KEY, hash text NOT NULL, spec jsonb NOT NULL, file text, applied_by text, applied_at timestamptz NOT NULL);
`;

describe('alert reads', () => {
  const env = useTestEnvironment({ label: 'gwalerts', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 2 }));
    gw = await startGateway(env);
  });

  it('says the alerter is not running before it ever created its tables', async () => {
    for (const path of ['/api/v1/alerts', '/api/v1/silences', '/api/v1/alert-rules']) {
      const res = await gw.request('GET', path);
      expect(res.status).toBe(503);
      expect(res.text).toContain('alerter');
    }
  });

  it('lists alerts newest first, by state, page by page', async () => {
    await pool.query(ALERTER_TABLES);
    for (let i = 0; i < 3; i++) {
      await pool.query(
        `INSERT INTO alerter_alerts (alert_id, fingerprint, rule, severity, owner, workflow_id, state, summary, labels, runbook, pending_at, fired_at, last_error)
         VALUES ($1, 'f', 'consecutive_failures', 'page', 'pricing-team', 'prices', $2, 'prices failed 3 runs in a row', '{"alertname":"consecutive_failures"}', 'docs/runbooks/consecutive-failures.md', $3, $3, 'boom')`,
        [`al-${i}`, i === 2 ? 'resolved' : 'firing', new Date(Date.UTC(2026, 4, 1, 10, i))],
      );
    }
    const first = await gw.request('GET', '/api/v1/alerts', { query: { state: 'firing', limit: '1' } });
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      expect.objectContaining({ id: 'al-1', state: 'firing', rule: 'consecutive_failures', severity: 'page', workflow: 'prices', owner: 'pricing-team', runbook: 'docs/runbooks/consecutive-failures.md', lastError: 'boom', timeline: 'steward timeline --alert al-1', firedAt: '2026-05-01T10:01:00.000Z' }),
    ]);
    const second = await gw.request('GET', '/api/v1/alerts', { query: { state: 'firing', limit: '1', cursor: first.body.next } });
    expect(second.body.items.map((a: { id: string }) => a.id)).toEqual(['al-0']);
    expect(second.body.next).toBeUndefined();
    const bad = await gw.request('GET', '/api/v1/alerts', { query: { cursor: 'nonsense' } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('query.cursor');
  });

  it('lists silences (kept after they expire) and the applied rules', async () => {
    await pool.query(
      `INSERT INTO alerter_silences (silence_id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_at) VALUES
       ('si-old', '[{"name":"workflow","value":"prices"}]', '2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z', 'ana', 'maintenance', '2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z'),
       ('si-now', '[{"name":"severity","value":"ticket"}]', now(), now() + interval '1 hour', 'bo', NULL, now(), NULL)`,
    );
    const active = await gw.request('GET', '/api/v1/silences');
    expect(active.body.items.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([['si-now', 'active']]);
    const all = await gw.request('GET', '/api/v1/silences', { query: { state: 'all' } });
    expect(all.body.items.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([['si-now', 'active'], ['si-old', 'expired']]);

    expect((await gw.request('GET', '/api/v1/alert-rules')).body).toEqual({ items: [], receivers: [], inhibitions: 0, escalations: 0 });
    await pool.query(
      `INSERT INTO alerter_rule_sets (id, hash, spec, file, applied_by, applied_at) VALUES (1, 'h', $1, 'alerts.yaml', 'ana', '2026-05-01T10:00:00Z')`,
      [JSON.stringify({ rules: [{ name: 'breaker', signal: 'consecutive_failures', severity: 'page' }], receivers: [{ name: 'ops', slack: { url: 'https://x' } }], inhibitions: [], escalations: [{}] })],
    );
    const rules = await gw.request('GET', '/api/v1/alert-rules');
    expect(rules.body).toEqual({
      items: [{ name: 'breaker', signal: 'consecutive_failures', severity: 'page' }],
      hash: 'h',
      file: 'alerts.yaml',
      appliedBy: 'ana',
      appliedAt: '2026-05-01T10:00:00.000Z',
      receivers: [{ name: 'ops', channel: 'slack' }],
      inhibitions: 0,
      escalations: 1,
    });
  });
});
