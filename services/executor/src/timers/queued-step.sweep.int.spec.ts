import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { startExecutor, workflow, type ExecutorHarness } from '../testing/executor.harness';

// Nobody serves these queues.
const UNSERVED = workflow(`
id: unserved
owner: data-team
runbook: docs/runbooks/unserved.md
retry: { maxAttempts: 2, initialDelay: 1h }
steps:
  - id: fetch
    task: { handler: fetch, queue: nobody-home }
`);

const PATIENT = workflow(`
id: patient
owner: data-team
runbook: docs/runbooks/patient.md
steps:
  - id: fetch
    scheduleToStart: 2h
    task: { handler: fetch, queue: nobody-home }
`);

describe('executor: the schedule-to-start default (a sweep, not a timer per attempt)', () => {
  const env = useTestEnvironment({ label: 'execsweep', setupDatabase: (url) => migrate(url) });
  let ex: ExecutorHarness;

  beforeAll(async () => {
    ex = await startExecutor(env, { env: { EXECUTOR_SCHEDULE_TO_START_MS: '1500', EXECUTOR_QUEUE_SWEEP_MS: '200' } });
    env.track({ end: () => ex.close() });
  });

  it('times out an attempt queued past the default on a queue nobody serves, once, and its retry policy follows', async () => {
    const runId = `unserved-${Date.now()}`;
    await ex.requestRun(UNSERVED, { runId });
    const queued = await ex.waitForEvent(runId, 'step.queued');
    expect(await ex.timers(runId)).toEqual([]);
    const timedOut = await ex.waitForEvent(runId, 'step.timed_out', (d) => d.timeout === 'schedule_to_start', 10_000);
    expect(timedOut.data).toMatchObject({ stepId: 'fetch', attempt: 1 });
    // Not before the default: queued at t, timed out at t + 1.5 s or later (at most a sweep interval late, on a quiet machine).
    expect(timedOut.occurredAt.getTime() - queued.occurredAt.getTime()).toBeGreaterThanOrEqual(1_500);
    expect(timedOut.metadata).toMatchObject({ actor: 'steward:executor', correlationId: queued.metadata.correlationId });
    const retry = await ex.waitForEvent(runId, 'step.retry_scheduled');
    expect(retry.data).toMatchObject({ stepId: 'fetch', nextAttempt: 2 });
    // Later sweeps find the step retrying, not queued: nothing more.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await ex.types(runId)).filter((t) => t === 'step.timed_out')).toHaveLength(1);
    const { rows } = await ex.pool.query(`SELECT status FROM executor_steps WHERE run_id = $1`, [runId]);
    expect(rows).toEqual([{ status: 'retrying' }]);
  });

  it("leaves a step with a scheduleToStart of its own to that step's timer", async () => {
    const runId = `patient-${Date.now()}`;
    await ex.requestRun(PATIENT, { runId });
    await ex.waitForEvent(runId, 'step.queued');
    expect((await ex.timers(runId)).map((t) => t.payload.kind)).toEqual(['schedule_to_start']);
    // Several sweeps past the default: the step's own 2 h still runs.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await ex.types(runId)).not.toContain('step.timed_out');
    // Its own timer, when it fires, times it out.
    await ex.fireTimer(runId, (t) => t.payload.kind === 'schedule_to_start');
    await ex.waitForEvent(runId, 'step.timed_out', (d) => d.timeout === 'schedule_to_start');
  });
});
