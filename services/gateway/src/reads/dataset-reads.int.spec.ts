import { createPool, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';

// The part of the transformer's tables these reads use (the transformer owns its DDL: transformer.migrations.ts).
const TRANSFORMER_TABLES = `
CREATE TABLE transformer_rows (dataset text NOT NULL, version integer NOT NULL, key text NOT NULL, data jsonb NOT NULL, hash text NOT NULL,
  capture_id uuid NOT NULL, transform text NOT NULL, captured_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (dataset, version, key));
CREATE TABLE transformer_quarantine (dataset text NOT NULL, version integer NOT NULL, capture_id uuid NOT NULL, transform text NOT NULL, row_index integer NOT NULL,
  reason text NOT NULL, issues jsonb NOT NULL, raw jsonb, replay_id text, quarantined_at timestamptz NOT NULL, PRIMARY KEY (capture_id, transform, row_index));
CREATE TABLE transformer_datasets (dataset text PRIMARY KEY, current_version integer, promoted_by text, promoted_at timestamptz, last_completed_at timestamptz, created_at timestamptz NOT NULL);
CREATE TABLE transformer_dataset_versions (dataset text NOT NULL, version integer NOT NULL, transform text NOT NULL, rows bigint NOT NULL DEFAULT 0, quarantined bigint NOT NULL DEFAULT 0,
  captures bigint NOT NULL DEFAULT 0, replay_id text, created_at timestamptz NOT NULL, last_completed_at timestamptz, PRIMARY KEY (dataset, version));
CREATE TABLE transformer_replays (replay_id text PRIMARY KEY, transform text NOT NULL, dataset text, dataset_version integer, base_version integer, dry_run boolean NOT NULL,
  total bigint NOT NULL, processed bigint NOT NULL DEFAULT 0, published boolean NOT NULL DEFAULT false, rows bigint NOT NULL DEFAULT 0, upserted bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0, quarantined bigint NOT NULL DEFAULT 0, failed bigint NOT NULL DEFAULT 0, error jsonb, diff jsonb, started_at timestamptz NOT NULL, completed_at timestamptz);
`;

const CAPTURE = '0190a8e0-0000-7000-8000-000000000001';

describe('dataset reads and replay diffs', () => {
  const env = useTestEnvironment({ label: 'gwdatasets', setupDatabase: (url) => migrate(url).then(() => undefined) });
  let gw: GatewayHarness;
  let pool: Pool;

  async function row(version: number, key: string, data: Record<string, unknown>): Promise<void> {
    await pool.query('INSERT INTO transformer_rows VALUES ($1, $2, $3, $4::jsonb, md5($4::text), $5, $6, now(), now())', ['prices', version, key, JSON.stringify(data), CAPTURE, `prices@${version}`]);
  }

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 3 }));
    gw = await startGateway(env);
  });

  it('answers 503 naming the transformer before it created its tables', async () => {
    for (const path of ['/api/v1/datasets', '/api/v1/datasets/prices', '/api/v1/datasets/prices/quarantine', '/api/v1/replays/rp-1/diff']) {
      const res = await gw.request('GET', path);
      expect(res.status).toBe(503);
      expect(res.text).toContain('transformer');
    }
  });

  it('lists datasets, shows versions and pages the quarantine', async () => {
    await pool.query(TRANSFORMER_TABLES);
    await pool.query("INSERT INTO transformer_datasets VALUES ('prices', 1, 'alice', now(), '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z'), ('rates', NULL, NULL, NULL, NULL, '2026-01-01T00:00:00Z')");
    await pool.query("INSERT INTO transformer_dataset_versions VALUES ('prices', 1, 'prices@1', 3, 2, 4, NULL, now(), '2026-01-02T00:00:00Z'), ('prices', 2, 'prices@2', 3, 1, 4, 'rp-1', now(), now())");
    for (let i = 0; i < 3; i++) {
      await pool.query("INSERT INTO transformer_quarantine VALUES ('prices', 1, $1, 'prices@1', $2, 'price: expected a decimal', '[{\"path\":\"price\",\"message\":\"expected a decimal\"}]', '{\"price\":\"x\"}', NULL, $3)", [CAPTURE, i, `2026-01-01T00:00:0${i}Z`]);
    }

    const list = await gw.request('GET', '/api/v1/datasets', { query: { limit: '1' } });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([{ id: 'prices', currentVersion: 1, transform: 'prices@1', records: 3, quarantined: 2, versions: 2, freshAt: '2026-01-02T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' }]);
    const next = await gw.request('GET', '/api/v1/datasets', { query: { cursor: list.body.next } });
    expect(next.body.items.map((d: { id: string }) => d.id)).toEqual(['rates']);

    const show = await gw.request('GET', '/api/v1/datasets/prices');
    expect(show.body).toMatchObject({ id: 'prices', currentVersion: 1, promotedBy: 'alice', versions: [{ version: 1, current: true, transform: 'prices@1' }, { version: 2, current: false, replayId: 'rp-1' }] });
    expect((await gw.request('GET', '/api/v1/datasets/nope')).status).toBe(404);

    const q1 = await gw.request('GET', '/api/v1/datasets/prices/quarantine', { query: { limit: '2', version: '1' } });
    expect(q1.body.items.map((q: { row: number }) => q.row)).toEqual([2, 1]);
    expect(q1.body.items[0]).toMatchObject({ id: `${CAPTURE}:2`, captureId: CAPTURE, transform: 'prices@1', path: 'price', reason: 'price: expected a decimal', raw: { price: 'x' } });
    const q2 = await gw.request('GET', '/api/v1/datasets/prices/quarantine', { query: { limit: '2', cursor: q1.body.next } });
    expect(q2.body.items.map((q: { row: number }) => q.row)).toEqual([0]);
    expect((await gw.request('GET', '/api/v1/datasets/prices/quarantine', { query: { cursor: 'garbage!' } })).status).toBe(400);
    const forged = Buffer.from(JSON.stringify({ at: '2026-01-01T00:00:00Z', captureId: 'not-a-uuid', rowIndex: 0 })).toString('base64url');
    expect((await gw.request('GET', '/api/v1/datasets/prices/quarantine', { query: { cursor: forged } })).status).toBe(400);
  });

  it("diffs a replay's version against the version current when it started", async () => {
    await row(1, 'A', { p: 1 });
    await row(1, 'B', { p: 2 });
    await row(1, 'C', { p: 3 });
    await row(2, 'B', { p: 2 });
    await row(2, 'C', { p: 30 });
    await row(2, 'D', { p: 4 });
    await pool.query("INSERT INTO transformer_quarantine VALUES ('prices', 2, $1, 'prices@2', 9, 'x', '[]', NULL, 'rp-1', now())", [CAPTURE]);
    await pool.query("INSERT INTO transformer_replays (replay_id, transform, dataset, dataset_version, base_version, dry_run, total, processed, published, rows, upserted, quarantined, started_at, completed_at) VALUES ('rp-1', 'prices@2', 'prices', 2, 1, false, 4, 4, true, 4, 3, 1, now(), now())");
    const res = await gw.request('GET', '/api/v1/replays/rp-1/diff');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ replayId: 'rp-1', dataset: 'prices', version: 2, baseVersion: 1, status: 'completed', summary: { added: 1, changed: 1, removed: 1, unchanged: 1, quarantined: { new: 1, base: 3 } }, truncated: false });
    expect(res.body.rows).toEqual([
      { key: 'A', change: 'removed', base: { p: 1 } },
      { key: 'C', change: 'changed', new: { p: 30 }, base: { p: 3 } },
      { key: 'D', change: 'added', new: { p: 4 } },
    ]);
    const summaryOnly = await gw.request('GET', '/api/v1/replays/rp-1/diff', { query: { limit: '0' } });
    expect(summaryOnly.body.rows).toEqual([]);
    expect(summaryOnly.body.truncated).toBe(true);
    expect((await gw.request('GET', '/api/v1/replays/rp-404/diff')).status).toBe(404);
  });

  it('says a projection rebuild has no diff (409), rather than that the replay does not exist', async () => {
    // The ledger's replay tables, the part the gateway reads (replay-reads.int.spec.ts has the same).
    await pool.query(`
      CREATE TABLE ledger_replays (replay_id text PRIMARY KEY, kind text NOT NULL, selection jsonb NOT NULL, transform text, consumer text NOT NULL,
        dry_run boolean NOT NULL, total bigint NOT NULL, published bigint NOT NULL DEFAULT 0, applied bigint, up_to_transaction xid8 NOT NULL, up_to_position bigint NOT NULL,
        state text NOT NULL, requested_by text, started_at timestamptz NOT NULL, published_at timestamptz, completed_at timestamptz, failed jsonb, updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE ledger_replay_checkpoints (replay_id text PRIMARY KEY, transaction_id xid8 NOT NULL, global_position bigint NOT NULL, published bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());`);
    await pool.query(`INSERT INTO ledger_replays (replay_id, kind, selection, consumer, dry_run, total, up_to_transaction, up_to_position, state, started_at, completed_at)
      VALUES ('rb-1', 'rebuild', '{"types":["run.started"]}', 'executor', false, 10, '10'::xid8, 99, 'completed', now(), now())`);
    const res = await gw.request('GET', '/api/v1/replays/rb-1/diff');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'illegal_state', message: expect.stringContaining('replay rb-1 is a projection rebuild') });
    expect((await gw.request('GET', '/api/v1/replays/rp-404/diff')).status).toBe(404);
  });
});
