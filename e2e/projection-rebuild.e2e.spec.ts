import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { freePort, gatewayApi, ServiceProcess } from './service-process';

const ADMIN = 'a-long-bootstrap-token-for-the-rebuild-e2e';
const ROOT = join(__dirname, '..');

const api = gatewayApi(ADMIN);

describe('steward replay start --rebuild SERVICE, with every service as its process', () => {
  const env = useTestEnvironment({ label: 'rebuildproc', setupDatabase: (url) => migrate(url) });

  it('rebuilds the scheduler and transformer projections from the store, and verify names a live row that drifted', async () => {
    const base = { ...env.env(), LOG_LEVEL: 'warn', REBUILD_POLL_MS: '200' };
    const services = [
      new ServiceProcess('ledger', await freePort(), { ...base, RELAY_POLL_MS: '100', LEDGER_REPLAY_POLL_MS: '100' }),
      new ServiceProcess('gateway', await freePort(), { ...base, STEWARD_BOOTSTRAP_TOKEN: ADMIN }),
      new ServiceProcess('scheduler', await freePort(), base),
      new ServiceProcess('transformer', await freePort(), { ...base, TRANSFORMER_TRANSFORMS: join(ROOT, 'examples/transforms') }),
    ].map((s) => s.start());
    const gw = services[1]!.port;
    const pool = env.track(createPool(env.db.url, { max: 2 }));
    try {
      await Promise.all(services.map((s) => s.waitReady()));
      await eventually(async () => expect((await api(gw, '/services')).body.items.map((s: { service: string }) => s.service)).toEqual(expect.arrayContaining(['ledger', 'scheduler', 'transformer'])), 20_000);
      const yaml = readFileSync(join(ROOT, 'examples/exchange-rates.workflow.yaml'), 'utf8');
      expect((await api(gw, '/workflows', { method: 'POST', body: { yaml, file: 'exchange-rates.workflow.yaml' } })).status).toBe(200);
      expect((await api(gw, '/workflows', { method: 'POST', body: { yaml: yaml.replace('owner: treasury', 'owner: treasury-ops'), file: 'exchange-rates.workflow.yaml' } })).status).toBe(200);
      expect((await api(gw, '/workflows/exchange-rates/pause', { method: 'POST', body: { reason: 'e2e' } })).status).toBe(200);
      // Both projections caught up with the live events before the rebuild's end is frozen.
      await eventually(async () => {
        expect((await pool.query(`SELECT owner, paused FROM scheduler_workflows WHERE id = 'exchange-rates'`)).rows).toEqual([{ owner: 'treasury-ops', paused: true }]);
        expect((await pool.query(`SELECT transform, version FROM transformer_workflow_steps WHERE workflow_id = 'exchange-rates'`)).rows).toEqual([{ transform: 'exchange-rates', version: 1 }]);
      }, 20_000);

      const rebuild = async (service: string): Promise<Record<string, any>> => {
        const started = await api(gw, '/replays', { method: 'POST', body: { rebuild: service, types: ['workflow.applied', 'workflow.paused', 'workflow.resumed'] } });
        expect(started).toMatchObject({ status: 200 });
        const replayId = started.body.replayId ?? started.body.event?.data?.replayId;
        return eventually(async () => {
          const { rows } = await pool.query(`SELECT service, consumed, applied, compared, differences, ok FROM projection_rebuilds WHERE replay_id = $1`, [replayId]);
          if (rows.length === 0) throw new Error(`${service} has not rebuilt ${replayId} yet`);
          return rows[0];
        }, 30_000);
      };
      expect(await rebuild('scheduler')).toEqual({ service: 'scheduler', consumed: '3', applied: '3', compared: '3', differences: [], ok: true });
      expect(await rebuild('transformer')).toMatchObject({ service: 'transformer', compared: '1', differences: [], ok: true });
      const verified = await api(gw, '/verify');
      expect(verified.body.checks.find((c: { name: string }) => c.name === 'projection:projection_rebuilds')).toMatchObject({ ok: true, services: ['scheduler', 'transformer'] });

      // A live row that drifted from its events (a bad manual fix, a bug): the next rebuild names it, and verify fails on it.
      await pool.query(`UPDATE scheduler_workflows SET owner = 'nobody' WHERE id = 'exchange-rates'`);
      expect(await rebuild('scheduler')).toMatchObject({ ok: false, differences: ['scheduler_workflows ["exchange-rates"]: owner differ'] });
      const failing = await api(gw, '/verify');
      expect(failing.body.checks.find((c: { name: string }) => c.name === 'projection:projection_rebuilds')).toMatchObject({ ok: false, differences: ['scheduler scheduler_workflows ["exchange-rates"]: owner differ'] });
      // The rebuild never wrote the live table: the drift is still there for the operator to repair.
      expect((await pool.query(`SELECT owner FROM scheduler_workflows WHERE id = 'exchange-rates'`)).rows).toEqual([{ owner: 'nobody' }]);
      expect((await pool.query(`SELECT owner FROM rebuild_scheduler.scheduler_workflows WHERE id = 'exchange-rates'`)).rows).toEqual([{ owner: 'treasury-ops' }]);
    } finally {
      await Promise.all(services.map((s) => s.kill('SIGTERM')));
    }
  }, 120_000);
});
