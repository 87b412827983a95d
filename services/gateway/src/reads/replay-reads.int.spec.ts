import type { Pool } from 'pg';
import { createPool, migrate } from '@steward/event-store';
import { REBUILD_VERDICTS_DDL } from '@steward/runtime';
import { useTestEnvironment } from '@steward/testing';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';
import { ProjectionRebuildsChecker } from './replay-reads.repository';

// The ledger's replay tables the gateway reads (the ledger owns their DDL; this is the part read here).
const LEDGER_TABLES = `
CREATE TABLE ledger_replays (
  replay_id text PRIMARY KEY, kind text NOT NULL, selection jsonb NOT NULL, transform text, consumer text NOT NULL,
  dry_run boolean NOT NULL, total bigint NOT NULL, published bigint NOT NULL DEFAULT 0, applied bigint,
  up_to_transaction xid8 NOT NULL, up_to_position bigint NOT NULL, state text NOT NULL, requested_by text,
  started_at timestamptz NOT NULL, published_at timestamptz, completed_at timestamptz, failed jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ledger_replay_checkpoints (
  replay_id text PRIMARY KEY, transaction_id xid8 NOT NULL, global_position bigint NOT NULL, published bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);`;

describe('replay status reads', () => {
  const env = useTestEnvironment({ label: 'gwreplay', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;
  let viewer: { token: string };
  let operator: { token: string };

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 3 }));
    gw = await startGateway(env);
    viewer = await gw.tokenFor('viewer', 'vic');
    operator = await gw.tokenFor('operator', 'olga');
  });
  afterAll(() => gw.close());

  async function replay(id: string, fields: { state: string; total: number; published: number; checkpoint: number; applied?: number; startedSecondsAgo: number; completed?: boolean; failed?: object; kind?: string }) {
    const started = new Date(Date.now() - fields.startedSecondsAgo * 1000);
    await pool.query(
      `INSERT INTO ledger_replays (replay_id, kind, selection, transform, consumer, dry_run, total, published, applied, up_to_transaction, up_to_position, state, requested_by, started_at, completed_at, published_at, failed)
        VALUES ($1, $2, $3, $4, $5, false, $6, $7, $8, '10'::xid8, 99, $9, 'ana', $10, $11, $11, $12)`,
      [id, fields.kind ?? 'backfill', JSON.stringify({ types: ['collection.raw_captured'], source: 'acme.prices' }), fields.kind === 'rebuild' ? null : 'prices@2', fields.kind === 'rebuild' ? 'scheduler' : 'transformer',
        fields.total, fields.published, fields.applied ?? null, fields.state, started, fields.completed ? new Date() : null, fields.failed ? JSON.stringify(fields.failed) : null],
    );
    await pool.query(`INSERT INTO ledger_replay_checkpoints (replay_id, transaction_id, global_position, published) VALUES ($1, '5'::xid8, 50, $2)`, [id, fields.checkpoint]);
  }

  it('answers 503 naming the ledger while its tables do not exist (and verify has nothing to check)', async () => {
    expect(await new ProjectionRebuildsChecker(pool).check()).toMatchObject({ ok: true });
    const res = await gw.request('GET', '/api/v1/replays/rp-1', { token: viewer.token });
    expect(res.status).toBe(503);
    expect(res.text).toContain('ledger');
  });

  it('shows done/total, rate and ETA: the live published count while publishing, the consumer count once completed', async () => {
    await pool.query(LEDGER_TABLES);
    await replay('rp-running', { state: 'publishing', total: 1000, published: 200, checkpoint: 400, startedSecondsAgo: 10 });
    await replay('rp-done', { state: 'completed', total: 1000, published: 1000, checkpoint: 1000, applied: 990, startedSecondsAgo: 20, completed: true });
    await replay('rp-failed', { state: 'cancelled', total: 10, published: 0, checkpoint: 0, startedSecondsAgo: 5, failed: { code: 'cancelled', message: 'wrong transform' } });

    const running = await gw.request('GET', '/api/v1/replays/rp-running', { token: viewer.token });
    expect(running.status).toBe(200);
    expect(running.body).toMatchObject({ id: 'rp-running', status: 'publishing', done: 400, total: 1000, transform: 'prices@2', consumer: 'transformer', error: null });
    expect(running.body.ratePerSec).toBeGreaterThan(30);
    expect(running.body.ratePerSec).toBeLessThan(45);
    expect(running.body.etaSeconds).toBeGreaterThan(10);
    expect(running.body.etaSeconds).toBeLessThan(20);

    const done = await gw.request('GET', '/api/v1/replays/rp-done', { token: viewer.token });
    expect(done.body).toMatchObject({ status: 'completed', done: 990, total: 1000, applied: 990, published: 1000, etaSeconds: 0 });

    const failed = await gw.request('GET', '/api/v1/replays/rp-failed', { token: viewer.token });
    expect(failed.body).toMatchObject({ status: 'cancelled', error: 'cancelled: wrong transform', ratePerSec: null });

    const missing = await gw.request('GET', '/api/v1/replays/rp-nope', { token: viewer.token });
    expect(missing.status).toBe(404);
  });

  it.each([
    [{ transform: 'prices@2' }, 'body'],
    [{ source: 's', rebuild: 'scheduler' }, 'body.rebuild'],
    [{ source: 's' }, 'body.transform'],
    [{ rebuild: 'scheduler', transform: 'prices@2' }, 'body.transform'],
    [{ rebuild: 'Scheduler' }, 'body.rebuild'],
    // Published to nobody, it would read "completed" and never get a verdict.
    [{ rebuild: 'schedular' }, 'body.rebuild'],
    [{ source: 's', transform: 'prices@2', types: ['run.started'] }, 'body.types'],
    [{ rebuild: 'scheduler', types: ['nodot'] }, 'body.types[0]'],
  ])('POST /replays %j: 400 naming %s', async (body, field) => {
    const res = await gw.request('POST', '/api/v1/replays', { token: operator.token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it("reports every service's latest projection rebuild to steward verify, failing on one that differs", async () => {
    const checker = new ProjectionRebuildsChecker(pool);
    expect(await checker.check()).toMatchObject({ ok: true, detail: expect.stringContaining('no service has rebuilt') });
    await pool.query(REBUILD_VERDICTS_DDL);
    await pool.query(`INSERT INTO projection_rebuilds (replay_id, service, consumed, applied, compared, differences, ok, verified_at) VALUES
      ('sr-1', 'scheduler', 12, 12, 4, '["scheduler_workflows [\\"w1\\"]: owner differ"]', false, now() - interval '2 hours'),
      ('sr-2', 'scheduler', 12, 12, 4, '[]', true, now() - interval '1 hour'),
      ('tr-1', 'transformer', 3, 3, 2, '[]', true, now())`);
    expect(await checker.check()).toMatchObject({ ok: true, services: ['scheduler', 'transformer'], detail: expect.stringContaining('scheduler: 4 rows match (rebuild sr-2') });
    await pool.query(`INSERT INTO projection_rebuilds (replay_id, service, consumed, applied, compared, differences, ok) VALUES ('tr-2', 'transformer', 3, 3, 2, '["transformer_workflow_steps [\\"w1\\",\\"fetch\\",\\"parse\\"]: version differ"]', false)`);
    expect(await checker.check()).toMatchObject({ ok: false, differences: ['transformer transformer_workflow_steps ["w1","fetch","parse"]: version differ'] });
  });
});
