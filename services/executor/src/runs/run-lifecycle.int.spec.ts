import { migrate } from '@steward/event-store';
import { runEvents } from '@steward/contracts';
import { eventually, fail, startRebuildReplay, succeed, TestWorker, useTestEnvironment } from '@steward/testing';
import { startExecutor, workflow, type ExecutorHarness } from '../testing/executor.harness';

const DAG = workflow(`
id: nightly
owner: data-team
runbook: docs/runbooks/nightly.md
retry: { maxAttempts: 2, initialDelay: 30s, backoff: 10, maxDelay: 30m, jitter: 0.2 }
steps:
  - id: extract
    scheduleToStart: 1h
    task: { handler: extract, queue: etl }
  - id: transform
    needs: [extract]
    scheduleToStart: 1h
    task: { handler: transform, queue: etl }
  - id: optional
    needs: [extract]
    when: "outputs.extract.rows > 100"
    task: { handler: big, queue: etl }
  - id: load
    needs: [transform, optional]
    scheduleToStart: 1h
    task: { handler: load, queue: etl, heartbeat: 30s }
`);

const FLAKY = workflow(`
id: flaky
owner: data-team
runbook: docs/runbooks/flaky.md
retry: { maxAttempts: 2, initialDelay: 30s, backoff: 10, maxDelay: 30m, jitter: 0.2 }
steps:
  - id: call
    scheduleToStart: 1h
    task: { handler: call, queue: flaky }
`);

const SLOW = workflow(`
id: slow
owner: data-team
runbook: docs/runbooks/slow.md
steps:
  - id: wait
    task: { handler: wait, queue: slow }
  - id: after
    needs: [wait]
    task: { handler: after, queue: slow }
`);

describe('executor: a run goes from requested to its end', () => {
  const env = useTestEnvironment({ label: 'execruns', setupDatabase: (url) => migrate(url) });
  let ex: ExecutorHarness;
  const behaviour = new Map<string, (attempt: number) => ReturnType<typeof succeed>>();
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    ex = await startExecutor(env, { random: () => 0, env: { REBUILD_POLL_MS: '100' } });
    const worker = (queue: string) => new TestWorker(env.nats.nc, env.nats.subjects, queue, (job) => behaviour.get(`${job.runId}:${job.stepId}`)?.(job.attempt) ?? succeed({ rows: 10 }));
    for (const q of ['etl', 'flaky', 'slow']) workers.push(await worker(q).start());
    // Stopped before the environment drops NATS and the database (afterAll hooks run in declaration order).
    env.track({
      end: async () => {
        await Promise.all(workers.map((w) => w.stop()));
        await ex.close();
      },
    });
  });

  it('runs a DAG to success, skips a step whose `when` is false, and passes outputs on', async () => {
    const runId = await ex.requestRun(DAG);
    await ex.waitForStatus(runId, 'succeeded');
    const types = await ex.types(runId);
    expect(types.filter((t) => t === 'step.succeeded')).toHaveLength(3);
    const skipped = await ex.waitForEvent(runId, 'step.skipped');
    expect(skipped.data).toMatchObject({ stepId: 'optional', when: 'outputs.extract.rows > 100' });
    const load = workers[0]!.jobs.find((j) => j.runId === runId && j.stepId === 'load')!;
    expect(load.input.outputs).toEqual({ transform: { rows: 10 } });
    // Every dispatched attempt of a step with its own scheduleToStart asked for that timer; a started one for start-to-close (and
    // load for its heartbeat), unless its result overtook the start report and both were decided at once.
    const timers = (await ex.timers(runId)).map((t) => t.timerId);
    expect(timers.filter((t) => t.endsWith('schedule_to_start')).sort()).toEqual(['extract', 'load', 'transform'].map((s) => `${runId}:${s}:1:schedule_to_start`));
    const started = [`${runId}:extract:1:start_to_close`, `${runId}:transform:1:start_to_close`, `${runId}:load:1:start_to_close`, `${runId}:load:1:heartbeat:1`];
    expect(timers.filter((t) => !t.endsWith('schedule_to_start')).every((t) => started.includes(t))).toBe(true);
    const { rows } = await ex.pool.query('SELECT step_id, status, attempt, duration_ms FROM executor_steps WHERE run_id = $1 ORDER BY position', [runId]);
    expect(rows.map((r) => [r.step_id, r.status, r.attempt])).toEqual([['extract', 'succeeded', 1], ['transform', 'succeeded', 1], ['optional', 'skipped', 0], ['load', 'succeeded', 1]]);
    const baselines = await ex.pool.query(`SELECT step_id, samples FROM executor_duration_baselines WHERE workflow_id = 'nightly' ORDER BY step_id`);
    expect(baselines.rows).toEqual([{ step_id: '', samples: 1 }, { step_id: 'extract', samples: 1 }, { step_id: 'load', samples: 1 }, { step_id: 'transform', samples: 1 }]);
  });

  it('retries a step that fails twice after the delays of its policy, then it succeeds', async () => {
    const runId = `flaky-${Date.now()}`;
    behaviour.set(`${runId}:call`, (attempt) => (attempt < 3 ? fail() : succeed({ ok: true })));
    await ex.requestRun(FLAKY, { runId });
    await ex.waitForEvent(runId, 'step.retry_scheduled', (d) => d.nextAttempt === 2);
    await ex.fireTimer(runId, (t) => t.payload.kind === 'retry' && t.payload.attempt === 2);
    await ex.waitForEvent(runId, 'step.retry_scheduled', (d) => d.nextAttempt === 3);
    await ex.fireTimer(runId, (t) => t.payload.kind === 'retry' && t.payload.attempt === 3);
    await ex.waitForStatus(runId, 'succeeded');

    const events = await ex.events(runId);
    const failedAt = events.filter((e) => e.type === 'step.failed').map((e) => Date.parse((e.data as { failedAt: string }).failedAt));
    const retryTimers = (await ex.timers(runId)).filter((t) => t.payload.kind === 'retry');
    expect(retryTimers.map((t) => t.timerId)).toEqual([`${runId}:call:2:retry`, `${runId}:call:3:retry`]);
    // 30 s, then 30 s x 10 = 5 min (jitter draw 0), from each failure.
    expect(retryTimers.map((t, i) => Date.parse(t.dueAt) - failedAt[i]!)).toEqual([30_000, 300_000]);
    expect(retryTimers.every((t) => (events.find((e) => (e.data as any).timerId === t.timerId)!.data as any).owner === 'executor')).toBe(true);
  });

  it('dead-letters a step that always fails once the budget is spent, with provenance; requeue runs it again, a second requeue is harmless', async () => {
    const runId = `dead-${Date.now()}`;
    let healthy = false;
    behaviour.set(`${runId}:call`, () => (healthy ? succeed({ ok: true }) : fail('http_503')));
    await ex.requestRun(FLAKY, { runId });
    for (const attempt of [2, 3]) {
      await ex.waitForEvent(runId, 'step.retry_scheduled', (d) => d.nextAttempt === attempt);
      await ex.fireTimer(runId, (t) => t.payload.kind === 'retry' && t.payload.attempt === attempt);
    }
    await ex.waitForStatus(runId, 'failed');
    const dead = await ex.waitForEvent(runId, 'step.dead_lettered');
    expect(dead.data).toMatchObject({ workflowId: 'flaky', version: 1, stepId: 'call', reason: 'budget_exhausted', attempts: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3 }] });
    const { rows } = await ex.pool.query('SELECT id, status, attempts, workflow_id FROM executor_dead_letters WHERE run_id = $1', [runId]);
    expect(rows).toEqual([{ id: `${runId}:call`, status: 'open', attempts: expect.any(Array), workflow_id: 'flaky' }]);
    expect(rows[0].attempts.map((a: any) => a.error.code)).toEqual(['http_503', 'http_503', 'http_503']);

    healthy = true;
    const first = await ex.send('requeue_dead_letter', { id: `${runId}:call`, reason: 'upstream fixed' });
    expect(first).toMatchObject({ status: 'completed', events: [{ type: 'step.requeued', actor: 'ana' }] });
    await ex.waitForStatus(runId, 'succeeded');
    const again = await ex.send('requeue_dead_letter', { deadLetterId: `${runId}:call` });
    expect(again).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted' }] });
    const types = await ex.types(runId);
    expect(types.filter((t) => t === 'step.requeued')).toHaveLength(1);
    expect(types.filter((t) => t === 'step.queued')).toHaveLength(4);
    const dl = await ex.pool.query('SELECT status, resolved_by, resolution_reason FROM executor_dead_letters WHERE id = $1', [`${runId}:call`]);
    expect(dl.rows).toEqual([{ status: 'requeued', resolved_by: 'ana', resolution_reason: 'upstream fixed' }]);
  });

  it('discards a dead letter with actor and reason; it cannot be requeued afterwards', async () => {
    const runId = `discard-${Date.now()}`;
    behaviour.set(`${runId}:call`, () => fail('bad_input', false));
    await ex.requestRun(FLAKY, { runId });
    await ex.waitForStatus(runId, 'failed');
    expect((await ex.waitForEvent(runId, 'step.dead_lettered')).data).toMatchObject({ reason: 'non_retryable' });
    const discarded = await ex.send('discard_dead_letter', { id: `${runId}:call`, reason: 'row is garbage' }, 'bob');
    expect(discarded).toMatchObject({ status: 'completed', events: [{ type: 'step.dead_letter_discarded', data: { actor: 'bob', reason: 'row is garbage' } }] });
    const refused = await ex.send('requeue_dead_letter', { id: `${runId}:call` });
    expect(refused).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    const { rows } = await ex.pool.query('SELECT status, resolved_by FROM executor_dead_letters WHERE id = $1', [`${runId}:call`]);
    expect(rows).toEqual([{ status: 'discarded', resolved_by: 'bob' }]);
    expect(await ex.send('discard_dead_letter', { id: 'no-colon', reason: 'x' })).toMatchObject({ status: 'rejected', code: 'validation', issues: [{ path: 'payload.id' }] });
  });

  it('cancels a running run: its running step is cancelled (workers stop on step.cancelled)', async () => {
    const runId = `cancel-${Date.now()}`;
    behaviour.set(`${runId}:wait`, () => ({ status: 'hang' }) as never);
    await ex.requestRun(SLOW, { runId });
    await ex.waitForStatus(runId, 'running');
    const outcome = await ex.send('cancel_run', { runId, reason: 'wrong input' });
    expect(outcome).toMatchObject({ status: 'completed', events: [{ type: 'step.cancelled', data: { stepId: 'wait', reason: 'run_cancelled' } }] });
    await ex.waitForStatus(runId, 'cancelled');
    expect((await ex.waitForEvent(runId, 'run.cancelled')).data).toMatchObject({ reason: 'wrong input', actor: 'ana' });
    // A late result of the cancelled attempt is refused, not applied.
    const late = await ex.send('report_step_result', { runId, stepId: 'wait', attempt: 1, outcome: { status: 'succeeded', outputs: {} } });
    expect(late).toMatchObject({ status: 'rejected', code: 'illegal_state' });
  });

  it('times a step out when its start-to-close timer fires, and ignores the timer once the step moved on', async () => {
    const runId = `timeout-${Date.now()}`;
    behaviour.set(`${runId}:call`, (attempt) => (attempt === 1 ? ({ status: 'hang' } as never) : succeed()));
    await ex.requestRun(FLAKY, { runId });
    await ex.waitForEvent(runId, 'step.started');
    await ex.fireTimer(runId, (t) => t.payload.kind === 'start_to_close' && t.payload.attempt === 1);
    await ex.waitForEvent(runId, 'step.timed_out', (d) => d.timeout === 'start_to_close');
    await ex.fireTimer(runId, (t) => t.payload.kind === 'retry');
    await ex.waitForStatus(runId, 'succeeded');
    // The first attempt's schedule-to-start timer fires late: nothing changes.
    const before = (await ex.types(runId)).length;
    await ex.fireTimer(runId, (t) => t.payload.kind === 'schedule_to_start' && t.payload.attempt === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect((await ex.types(runId)).length).toBe(before);
  });

  // Last: every run above (succeeded, retried, dead-lettered, requeued, discarded, cancelled, timed out) is in the store.
  it('rebuilds the run projection from the store (steward replay start --rebuild executor) equal to the live one', async () => {
    const verdict = async (replayId: string) => {
      const { rows } = await ex.pool.query('SELECT compared, skipped, differences, ok FROM projection_rebuilds WHERE replay_id = $1', [replayId]);
      if (rows.length === 0) throw new Error(`${replayId} not rebuilt yet`);
      return rows[0];
    };
    const types = runEvents.map((e) => e.type);
    await startRebuildReplay(ex.store, env.nats.nc, env.nats.subjects, { replayId: 'exec-rb-1', consumer: 'executor', types, db: ex.pool });
    const first = await eventually(() => verdict('exec-rb-1'), 30_000);
    expect(first).toMatchObject({ ok: true, differences: [] });
    expect(Number(first.compared)).toBeGreaterThan(20);
    // A run row that drifted from its events is named, table, key and column.
    const { rows } = await ex.pool.query<{ run_id: string }>(`SELECT run_id FROM executor_runs WHERE status = 'succeeded' ORDER BY run_id LIMIT 1`);
    await ex.pool.query(`UPDATE executor_runs SET status = 'failed' WHERE run_id = $1`, [rows[0]!.run_id]);
    await startRebuildReplay(ex.store, env.nats.nc, env.nats.subjects, { replayId: 'exec-rb-2', consumer: 'executor', types, db: ex.pool });
    const second = await eventually(() => verdict('exec-rb-2'), 30_000);
    expect(second).toMatchObject({ ok: false, differences: [`executor_runs ["${rows[0]!.run_id}"]: status differ`] });
  }, 60_000);
});
