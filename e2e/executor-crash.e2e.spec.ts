import type { Pool } from 'pg';
import { allEvents, EventRegistry, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { eventually, fail, succeed, TestWorker, useTestEnvironment, type Outcome } from '@steward/testing';
import { hashWorkflow, parseWorkflow, type WorkflowDefinition } from '@steward/workflow';
import { freePort, gatewayApi, ServiceProcess } from './service-process';

const ADMIN = 'e2e-admin-token-0123456789abcdef';
const RUNS = 100;

const PIPELINE = parseWorkflow(`
id: crashy
owner: ops
runbook: docs/runbooks/crashy.md
steps:
  - id: fetch
    task: { handler: fetch, queue: e2e }
  - id: shape
    needs: [fetch]
    task: { handler: shape, queue: e2e }
  - id: store
    needs: [fetch]
    task: { handler: store, queue: e2e }
`);

const GATED = parseWorkflow(`
id: gated
owner: ops
runbook: docs/runbooks/gated.md
steps:
  - id: gate
    approval: { approvers: [ops] }
`);

const BROKEN = parseWorkflow(`
id: broken
owner: ops
runbook: docs/runbooks/broken.md
steps:
  - id: parse
    task: { handler: parse, queue: e2e }
`);

describe('executor as a process', () => {
  const env = useTestEnvironment({ label: 'execcrash', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'e2e' });
  });

  async function requestRun(definition: WorkflowDefinition, runId: string): Promise<void> {
    const data = { workflowId: definition.id, version: 1, hash: hashWorkflow(definition), definition, runId, trigger: { kind: 'manual', actor: 'e2e' }, input: {}, requestedAt: new Date().toISOString() };
    await store.append(`manual-${runId}`, [{ type: 'schedule.run_requested', data, metadata: { correlationId: runId, runId, workflowId: definition.id } }], { expected: 'no_stream' });
  }

  async function countByStatus(workflow: string): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM executor_runs WHERE workflow_id = $1 GROUP BY status`, [workflow]);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  const api = gatewayApi(ADMIN);

  it('finishes every run after a SIGKILL mid-way, each task side effect once, and the gateway serves the projection', async () => {
    const serviceEnv = { ...env.env(), LOG_LEVEL: 'warn' };
    const executorEnv = { ...serviceEnv, EXECUTOR_ACK_WAIT_MS: '2000' };
    const ledger = new ServiceProcess('ledger', await freePort(), { ...serviceEnv, RELAY_POLL_MS: '50' }).start();
    let executor = new ServiceProcess('executor', await freePort(), executorEnv).start();
    const gateway = new ServiceProcess('gateway', await freePort(), { ...serviceEnv, STEWARD_BOOTSTRAP_TOKEN: ADMIN }).start();
    await Promise.all([ledger.waitReady(), executor.waitReady(), gateway.waitReady()]);
    const worker = await new TestWorker(env.nats.nc, env.nats.subjects, 'e2e', (job): Outcome => (job.runId.startsWith('broken') ? fail('parse_error', false) : succeed({ n: 1 }))).start();
    try {
      const ids = Array.from({ length: RUNS }, (_, i) => `crashy-${String(i).padStart(3, '0')}`);
      for (const id of ids) await requestRun(PIPELINE, id);

      await eventually(async () => expect((await countByStatus('crashy')).succeeded ?? 0).toBeGreaterThanOrEqual(10), 30_000, 5);
      expect(await executor.kill('SIGKILL')).toBeNull();
      const atKill = await countByStatus('crashy');
      expect(atKill.succeeded ?? 0).toBeLessThan(RUNS); // really mid-way

      executor = new ServiceProcess('executor', await freePort(), executorEnv).start();
      await executor.waitReady();
      await eventually(async () => expect(await countByStatus('crashy')).toEqual({ succeeded: RUNS }), 60_000, 200);

      // Each task's side effect happened once, counted by the worker, outside the executor.
      expect(worker.effects.size).toBe(RUNS * 3);
      expect([...worker.effects.values()].every((n) => n === 1)).toBe(true);
      // The executor never queued a second attempt without a failure: one step.queued per step.
      const queued = await pool.query<{ n: number; failures: number }>(
        `SELECT count(*) FILTER (WHERE type = 'step.queued')::int AS n, count(*) FILTER (WHERE type IN ('step.failed', 'step.timed_out'))::int AS failures
         FROM events WHERE stream_id LIKE 'run-crashy-%'`,
      );
      expect(queued.rows[0]).toEqual({ n: RUNS * 3, failures: 0 });
      const perRun = await Promise.all(ids.slice(0, 5).map((id) => store.readStream(`run-${id}`)));
      for (const events of perRun) expect(events.filter((e: StoredEvent) => e.type === 'run.succeeded')).toHaveLength(1);

      // The gateway reads the executor's projection.
      const listed = await api(gateway.port, '/runs?workflow=crashy&status=succeeded&limit=60');
      expect(listed.status).toBe(200);
      expect(listed.body.items).toHaveLength(60);
      expect(listed.body.items[0]).toMatchObject({ workflow: 'crashy', status: 'succeeded', trigger: 'manual', durationMs: expect.any(Number) });
      const rest = await api(gateway.port, `/runs?workflow=crashy&limit=60&cursor=${listed.body.next}`);
      expect(new Set([...listed.body.items, ...rest.body.items].map((r: { id: string }) => r.id)).size).toBe(RUNS);
      const shown = await api(gateway.port, '/runs/crashy-007');
      expect(shown.body.steps.map((s: any) => [s.id, s.state, s.needs, s.attempts.length])).toEqual([['fetch', 'succeeded', [], 1], ['shape', 'succeeded', ['fetch'], 1], ['store', 'succeeded', ['fetch'], 1]]);
      expect(shown.body.steps[0].attempts[0]).toMatchObject({ attempt: 1, startedAt: expect.any(String), endedAt: expect.any(String), error: null });
      expect((await api(gateway.port, '/runs/crashy-007/wait?timeout=5s')).body).toMatchObject({ id: 'crashy-007', status: 'succeeded' });
      expect((await api(gateway.port, '/runs/nope')).status).toBe(404);

      await requestRun(GATED, 'gated-1');
      await requestRun(BROKEN, 'broken-1');
      await eventually(async () => expect((await api(gateway.port, '/approvals')).body.items).toMatchObject([{ run: 'gated-1', step: 'gate', workflow: 'gated', approvers: ['ops'] }]), 20_000);
      await eventually(async () => expect((await api(gateway.port, '/dlq')).body.items).toMatchObject([{ id: 'broken-1:parse', workflow: 'broken', run: 'broken-1', step: 'parse', attempts: 1, error: 'parse_error: failed with parse_error' }]), 20_000);
      const waiting = await api(gateway.port, '/runs/gated-1/wait?timeout=1s');
      expect(waiting).toMatchObject({ status: 408, body: { error: { code: 'timeout' } } });
    } finally {
      await worker.stop();
      await Promise.all([executor.kill('SIGTERM'), gateway.kill('SIGTERM'), ledger.kill('SIGTERM')]);
    }
  });
});
