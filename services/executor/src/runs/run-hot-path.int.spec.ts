import { runEvents } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { eventually, startRebuildReplay, useTestEnvironment } from '@steward/testing';
import { startExecutor, workflow, type ExecutorHarness } from '../testing/executor.harness';

// Nobody serves this queue: the tests report for the worker themselves.
const QUICK = workflow(`
id: quick
owner: data-team
runbook: docs/runbooks/quick.md
steps:
  - id: only
    task: { handler: noop, queue: unserved }
`);

describe('executor: the per-run hot path', () => {
  const env = useTestEnvironment({ label: 'exechot', setupDatabase: (url) => migrate(url) });
  let ex: ExecutorHarness;
  const result = (runId: string, attempt = 1) => ex.send('report_step_result', { runId, stepId: 'only', attempt, outcome: { status: 'succeeded', outputs: {} } }, 'worker:batch');

  beforeAll(async () => {
    ex = await startExecutor(env);
    env.track({ end: () => ex.close() });
  });

  it('records a result that overtook its start as started and ended in one decision, names the worker and arms no start-to-close timer', async () => {
    const runId = await ex.requestRun(QUICK);
    await ex.waitForEvent(runId, 'step.queued');
    // Requested, admitted and queued in one decision: run, step and attempt rows written together, the step queued.
    const queuedStep = await ex.pool.query(`SELECT status, attempt FROM executor_steps WHERE run_id = $1`, [runId]);
    expect(queuedStep.rows).toEqual([{ status: 'queued', attempt: 1 }]);
    const queuedAttempt = await ex.pool.query(`SELECT attempt, queued_at FROM executor_step_attempts WHERE run_id = $1`, [runId]);
    expect(queuedAttempt.rows).toEqual([{ attempt: 1, queued_at: expect.any(Date) }]);
    const outcome = await ex.send('report_step_result', { runId, stepId: 'only', attempt: 1, outcome: { status: 'succeeded', outputs: { n: 1 } } }, 'worker:quick-1');
    expect(outcome).toMatchObject({ status: 'completed' });
    await ex.waitForStatus(runId, 'succeeded');
    const events = await ex.events(runId);
    expect(events.map((e) => e.type).slice(-4)).toEqual(['run.started', 'step.started', 'step.succeeded', 'run.succeeded']);
    const started = events.find((e) => e.type === 'step.started')!;
    const succeeded = events.find((e) => e.type === 'step.succeeded')!;
    expect(started.transactionId).toBe(succeeded.transactionId);
    expect(started.metadata.actor).toBe('worker:quick-1');
    const { rows } = await ex.pool.query<{ worker: string | null; started_at: Date | null; ended_at: Date | null }>(
      'SELECT worker, started_at, ended_at FROM executor_step_attempts WHERE run_id = $1',
      [runId],
    );
    expect(rows).toEqual([{ worker: 'quick-1', started_at: expect.any(Date), ended_at: expect.any(Date) }]);
    // Start and end of the step and of the run were written as one row update each; nothing is missing.
    const step = await ex.pool.query(`SELECT status, started_at, ended_at, duration_ms::int AS duration_ms, last_heartbeat_at FROM executor_steps WHERE run_id = $1`, [runId]);
    expect(step.rows).toEqual([{ status: 'succeeded', started_at: expect.any(Date), ended_at: expect.any(Date), duration_ms: 0, last_heartbeat_at: expect.any(Date) }]);
    const run = await ex.pool.query(`SELECT status, queued_at, started_at, ended_at FROM executor_runs WHERE run_id = $1`, [runId]);
    expect(run.rows).toEqual([{ status: 'succeeded', queued_at: expect.any(Date), started_at: expect.any(Date), ended_at: expect.any(Date) }]);
    // No timer at all: the step sets no scheduleToStart of its own, and the executor's default is a sweep (QueuedStepSweep).
    expect(await ex.timers(runId)).toEqual([]);
  });

  it('records worker reports delivered together in shared transactions, each with its own outcome', async () => {
    const runIds = Array.from({ length: 6 }, (_, i) => `reports-${Date.now()}-${i}`);
    await Promise.all(runIds.map((runId) => ex.requestRun(QUICK, { runId })));
    for (const runId of runIds) await ex.waitForEvent(runId, 'step.queued');
    const outcomes = await Promise.all(runIds.map((runId) => result(runId)));
    expect(outcomes.map((o) => o.status)).toEqual(runIds.map(() => 'completed'));
    const succeeded = await Promise.all(runIds.map(async (runId) => (await ex.events(runId)).filter((e) => e.type === 'step.succeeded')));
    expect(succeeded.map((s) => s.length)).toEqual(runIds.map(() => 1));
    expect(new Set(succeeded.map((s) => s[0]!.transactionId)).size).toBeLessThan(runIds.length);
    // Baselines are refreshed at the end of a batch, at most once a second per workflow: every successful run is counted within it.
    await eventually(async () => {
      const counts = await ex.pool.query<{ runs: number; samples: number }>(
        `SELECT (SELECT count(*)::int FROM executor_runs WHERE workflow_id = 'quick' AND status = 'succeeded') AS runs,
                (SELECT samples::int FROM executor_duration_baselines WHERE workflow_id = 'quick' AND step_id = '') AS samples`,
      );
      expect(counts.rows[0]!.samples).toBe(counts.rows[0]!.runs);
    }, 5_000);
  });

  it('records a report refused in a batch (no savepoint per command there) once the batch is retried a command at a time; it undoes nothing else', async () => {
    const runIds = Array.from({ length: 6 }, (_, i) => `refused-${Date.now()}-${i}`);
    await Promise.all(runIds.map((runId) => ex.requestRun(QUICK, { runId })));
    for (const runId of runIds) await ex.waitForEvent(runId, 'step.queued');
    const [stale, ...outcomes] = await Promise.all([result(runIds[0]!, 9), ...runIds.map((runId) => result(runId))]);
    expect(stale).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    expect(outcomes.map((o) => o.status)).toEqual(runIds.map(() => 'completed'));
    const events = await Promise.all(runIds.map(async (runId) => (await ex.events(runId)).map((e) => e.type)));
    expect(events.map((types) => types.filter((t) => t === 'step.succeeded' || t === 'run.succeeded'))).toEqual(runIds.map(() => ['step.succeeded', 'run.succeeded']));
    const { rows } = await ex.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM executor_runs WHERE run_id = ANY($1::text[]) AND status = 'succeeded'`, [runIds]);
    expect(rows[0]!.n).toBe(runIds.length);
  });

  it('starts every run of a burst of requests exactly once, requests delivered together sharing a transaction', async () => {
    const runIds = Array.from({ length: 12 }, (_, i) => `burst-${Date.now()}-${i}`);
    // One append transaction: the relay publishes them together and the executor takes them in one fetch.
    await Promise.all(runIds.map((runId) => ex.requestRun(QUICK, { runId })));
    for (const runId of runIds) await ex.waitForEvent(runId, 'step.queued');
    const requested = await Promise.all(runIds.map(async (runId) => (await ex.events(runId)).filter((e) => e.type === 'run.requested')));
    expect(requested.map((r) => r.length)).toEqual(runIds.map(() => 1));
    const transactions = new Set(requested.map((r) => r[0]!.transactionId));
    expect(transactions.size).toBeLessThan(runIds.length);
    const { rows } = await ex.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM executor_runs WHERE run_id = ANY($1::text[]) AND status = 'queued'`, [runIds]);
    expect(rows[0]!.n).toBe(runIds.length);
  });

  it('takes a start and the result of one attempt in one batch: the result decides on what the start wrote', async () => {
    const runIds = Array.from({ length: 8 }, (_, i) => `pair-${Date.now()}-${i}`);
    await Promise.all(runIds.map((runId) => ex.requestRun(QUICK, { runId })));
    for (const runId of runIds) await ex.waitForEvent(runId, 'step.queued');
    const started = (runId: string) => ex.send('report_step_started', { runId, stepId: 'only', attempt: 1, workerId: 'pairs' }, 'worker:pairs');
    // Sent together: each run's start and result can share a batch (read once up front; the result must not decide on that read).
    const outcomes = await Promise.all(runIds.flatMap((runId) => [started(runId), result(runId)]));
    expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'completed'));
    for (const runId of runIds) {
      const types = await ex.types(runId);
      expect(types.filter((t) => t.startsWith('step.') || t === 'run.succeeded')).toEqual(['step.queued', 'step.started', 'step.succeeded', 'run.succeeded']);
    }
    const { rows } = await ex.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM executor_step_attempts a JOIN executor_runs r USING (run_id)
       WHERE run_id = ANY($1::text[]) AND a.worker = 'pairs' AND a.outcome = 'succeeded' AND r.status = 'succeeded' AND r.started_at IS NOT NULL`,
      [runIds],
    );
    expect(rows[0]!.n).toBe(runIds.length);
  });

  // Last: the batches above held their rows and wrote them a batch at a time; a rebuild folds the same events a decision at a time.
  it('leaves the projection a rebuild from the store folds one decision at a time', async () => {
    const types = runEvents.map((e) => e.type);
    await startRebuildReplay(ex.store, env.nats.nc, env.nats.subjects, { replayId: 'exec-hot-rb', consumer: 'executor', types, db: ex.pool });
    const verdict = await eventually(async () => {
      const { rows } = await ex.pool.query('SELECT compared, differences, ok FROM projection_rebuilds WHERE replay_id = $1', ['exec-hot-rb']);
      if (rows.length === 0) throw new Error('not rebuilt yet');
      return rows[0];
    }, 30_000);
    expect(verdict).toMatchObject({ ok: true, differences: [] });
    expect(Number(verdict.compared)).toBeGreaterThan(50);
  }, 60_000);
});
