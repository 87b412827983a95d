import { allEvents, EventRegistry, TimerRequested, uuidv7, type EventData } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { freePort, gatewayApi, ServiceProcess } from './service-process';

const ADMIN = 'a-long-bootstrap-token-for-the-scheduler-e2e';

const api = gatewayApi(ADMIN);

const WORKFLOW = `id: nightly-report
owner: finance-team
runbook: docs/runbooks/nightly-report.md
schedule: { cron: "0 2 * * *", timezone: Europe/Berlin }
steps:
  - id: build
    task: { handler: report-builder }
`;

describe('scheduler as a process', () => {
  const env = useTestEnvironment({ label: 'schedproc', setupDatabase: (url) => migrate(url) });

  it('serves workflows through the gateway, and fires a pending timer once after being SIGKILLed and restarted', async () => {
    const base = { ...env.env(), LOG_LEVEL: 'warn' };
    const ledger = new ServiceProcess('ledger', await freePort(), { ...base, RELAY_POLL_MS: '100' }).start();
    const gateway = new ServiceProcess('gateway', await freePort(), { ...base, STEWARD_BOOTSTRAP_TOKEN: ADMIN }).start();
    const schedulerEnv = { ...base, SCHEDULER_TICK_MS: '200' };
    let scheduler = new ServiceProcess('scheduler', await freePort(), schedulerEnv).start();
    const pool = env.track(createPool(env.db.url, { max: 2 }));
    const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'e2e' });
    try {
      await Promise.all([ledger.waitReady(), gateway.waitReady(), scheduler.waitReady()]);
      const ready = await fetch(`http://127.0.0.1:${scheduler.port}/readyz`).then((r) => r.json());
      expect(ready).toMatchObject({ status: 'ready', checks: { postgres: true, nats: true, consumers: true, ticks: true } });
      expect(await fetch(`http://127.0.0.1:${scheduler.port}/metrics`).then((r) => r.text())).toContain('steward_scheduler_tick_duration_seconds');

      // Workflows: apply through the gateway, then read them back from the scheduler's projection.
      await eventually(async () => expect((await api(gateway.port, '/services')).body.items.map((s: { service: string }) => s.service)).toContain('scheduler'), 20_000);
      const applied = await api(gateway.port, '/workflows', { method: 'POST', body: { yaml: WORKFLOW, file: 'nightly-report.yaml' } });
      expect(applied).toMatchObject({ status: 200, body: { id: 'nightly-report', version: 1, event: { type: 'workflow.applied' } } });
      const invalid = await api(gateway.port, '/workflows', { method: 'POST', body: { yaml: WORKFLOW.replace('0 2 * * *', 'every day') } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['schedule.cron']);

      const list = await api(gateway.port, '/workflows');
      expect(list).toMatchObject({ status: 200, body: { items: [{ id: 'nightly-report', version: 1, owner: 'finance-team', status: 'active', schedule: { cron: '0 2 * * *', timezone: 'Europe/Berlin' } }] } });
      expect(Date.parse(list.body.items[0].nextRunAt)).toBeGreaterThan(Date.now());
      const shown = await api(gateway.port, '/workflows/nightly-report');
      expect(shown).toMatchObject({ status: 200, body: { id: 'nightly-report', runbook: 'docs/runbooks/nightly-report.md', versions: [{ version: 1, file: 'nightly-report.yaml', appliedBy: 'bootstrap-admin' }], steps: [{ id: 'build' }] } });
      expect((await api(gateway.port, '/workflows/unknown-one')).status).toBe(404);
      const started = await api(gateway.port, '/runs', { method: 'POST', body: { workflow: 'nightly-report' } });
      // The CLI's `runs start` prints runId and version from this reply.
      expect(started).toMatchObject({ status: 200, body: { runId: expect.any(String), version: 1, workflowId: 'nightly-report', trigger: { kind: 'manual', actor: 'bootstrap-admin' }, event: { type: 'schedule.run_requested' } } });
      // `steward workflows list` shows when the last run was requested (null before the first).
      expect(list.body.items[0].lastRunAt).toBeNull();
      const relisted = await api(gateway.port, '/workflows');
      expect(Date.parse(relisted.body.items[0].lastRunAt)).toBeGreaterThan(Date.now() - 60_000);

      // Timers: one due in 4 s, requested the way the executor does.
      const timerId = `run-1:fetch:2:retry:${uuidv7()}`;
      const dueAt = new Date(Date.now() + 4_000);
      const data: EventData<typeof TimerRequested> = { timerId, owner: 'executor', dueAt: dueAt.toISOString(), payload: { attempt: 2 }, correlation: { correlationId: 'corr-e2e' } };
      await store.append('run-e2e-1', [{ type: TimerRequested.type, data }], { expected: 'any' });
      await eventually(async () => expect((await pool.query(`SELECT fired FROM scheduler_timers WHERE timer_id = $1`, [timerId])).rows).toEqual([{ fired: false }]), 10_000);

      await scheduler.kill('SIGKILL');
      // Down past the due time: nothing can fire it.
      await new Promise((r) => setTimeout(r, Math.max(0, dueAt.getTime() - Date.now()) + 500));
      const firedCount = async () => (await pool.query(`SELECT count(*)::int AS n FROM events WHERE type = 'timer.fired' AND data->>'timerId' = $1`, [timerId])).rows[0].n;
      expect(await firedCount()).toBe(0);

      scheduler = new ServiceProcess('scheduler', await freePort(), schedulerEnv).start();
      await scheduler.waitReady();
      await eventually(async () => expect(await firedCount()).toBe(1), 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await firedCount()).toBe(1);
    } finally {
      await scheduler.kill('SIGTERM');
      await gateway.kill('SIGTERM');
      await ledger.kill('SIGTERM');
    }
  });
});
