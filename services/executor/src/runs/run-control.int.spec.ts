import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment, TestWorker, succeed, type Outcome } from '@steward/testing';
import { startExecutor, workflow, type ExecutorHarness } from '../testing/executor.harness';

const gated = (onTimeout: 'fail' | 'escalate' | 'approve') =>
  workflow(`
id: gated-${onTimeout}
owner: pricing-team
runbook: docs/runbooks/prices.md
steps:
  - id: prepare
    task: { handler: prepare, queue: ctl }
  - id: gate
    needs: [prepare]
    approval: { approvers: [pricing-team], timeout: 1h, onTimeout: ${onTimeout} }
  - id: publish
    needs: [gate]
    task: { handler: publish, queue: ctl }
`);

const scheduled = (overlap: string) =>
  workflow(`
id: every-${overlap.replace('_', '-')}
owner: ops
runbook: docs/runbooks/ops.md
schedule: { every: 1h, overlap: ${overlap} }
concurrency: 1
steps:
  - id: work
    task: { handler: work, queue: ctl }
`);

const BEATING = workflow(`
id: beating
owner: ops
runbook: docs/runbooks/ops.md
timeout: 10m
retry: { maxAttempts: 1, initialDelay: 1s }
steps:
  - id: long
    task: { handler: long, queue: ctl, heartbeat: 30s }
`);

describe('executor: approvals, timeouts and admission', () => {
  const env = useTestEnvironment({ label: 'execctl', setupDatabase: (url) => migrate(url) });
  let ex: ExecutorHarness;
  let worker: TestWorker;
  let offsetMs = 0;
  const hanging = new Set<string>();
  const schedule = { kind: 'schedule' as const };

  beforeAll(async () => {
    ex = await startExecutor(env, { random: () => 0, clock: { now: () => new Date(Date.now() + offsetMs) } });
    worker = await new TestWorker(env.nats.nc, env.nats.subjects, 'ctl', (job): Outcome => (hanging.has(job.runId) ? { status: 'hang' } : succeed())).start();
    // Stopped before the environment drops NATS and the database (afterAll hooks run in declaration order).
    env.track({
      end: async () => {
        await worker.stop();
        await ex.close();
      },
    });
  });

  describe('approvals', () => {
    it('waits for an approver; approving records who and why, and the run goes on', async () => {
      const runId = await ex.requestRun(gated('fail'));
      await ex.waitForStatus(runId, 'awaiting_approval');
      const pending = await ex.pool.query(`SELECT step_id, approvers, status FROM executor_approvals WHERE run_id = $1`, [runId]);
      expect(pending.rows).toEqual([{ step_id: 'gate', approvers: ['pricing-team'], status: 'pending' }]);
      // Only the step's approvers (people or teams) decide; the refusal names them.
      const outsider = await ex.send('approve_step', { runId, stepId: 'gate', approver: { teams: ['billing'], role: 'operator' } }, 'mallory');
      expect(outsider).toMatchObject({ status: 'rejected', code: 'forbidden' });
      expect(outsider.status === 'rejected' && outsider.reason).toContain('its approvers are pricing-team');
      const outcome = await ex.send('approve_step', { runId, stepId: 'gate', comment: 'change is expected', approver: { teams: ['billing', 'pricing-team'], role: 'operator' } }, 'ana');
      expect(outcome).toMatchObject({
        status: 'completed',
        events: [{ type: 'approval.granted', actor: 'ana', data: { approver: 'ana', authority: { via: 'team', team: 'pricing-team' }, comment: 'change is expected', auto: false } }],
      });
      await ex.waitForStatus(runId, 'succeeded');
      const decided = await ex.pool.query(`SELECT status, decided_by, comment FROM executor_approvals WHERE run_id = $1`, [runId]);
      expect(decided.rows).toEqual([{ status: 'granted', decided_by: 'ana', comment: 'change is expected' }]);
      // Approving again: the step is no longer waiting.
      expect(await ex.send('approve_step', { runId, stepId: 'gate' })).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    });

    it('rejecting fails the run with the approver and comment recorded', async () => {
      const runId = await ex.requestRun(gated('fail'));
      await ex.waitForStatus(runId, 'awaiting_approval');
      // An admin outside the list may decide (break-glass); the event says so.
      await ex.send('reject_step', { runId, stepId: 'gate', comment: 'numbers look wrong', approver: { teams: [], role: 'admin' } }, 'bob');
      await ex.waitForStatus(runId, 'failed');
      expect((await ex.waitForEvent(runId, 'approval.rejected')).data).toMatchObject({ approver: 'bob', authority: { via: 'admin' }, comment: 'numbers look wrong' });
      expect(await ex.types(runId)).not.toContain('step.dead_lettered');
    });

    it('an approval timeout fails, approves or escalates the run as its definition says', async () => {
      const failing = await ex.requestRun(gated('fail'));
      const approving = await ex.requestRun(gated('approve'));
      const escalating = await ex.requestRun(gated('escalate'));
      for (const runId of [failing, approving, escalating]) {
        await ex.waitForStatus(runId, 'awaiting_approval');
        await ex.fireTimer(runId, (t) => t.payload.kind === 'approval' && t.payload.seq === undefined);
      }
      await ex.waitForStatus(failing, 'failed');
      expect((await ex.waitForEvent(failing, 'step.timed_out')).data).toMatchObject({ stepId: 'gate', timeout: 'approval' });
      await ex.waitForStatus(approving, 'succeeded');
      expect((await ex.waitForEvent(approving, 'approval.granted')).data).toMatchObject({ approver: 'steward:timeout', auto: true });
      await ex.waitForEvent(escalating, 'approval.escalated');
      await ex.fireTimer(escalating, (t) => t.payload.kind === 'approval' && t.payload.seq === 2);
      await ex.waitForStatus(escalating, 'failed');
      const { rows } = await ex.pool.query(`SELECT run_id, status, escalated FROM executor_approvals WHERE run_id = ANY($1) ORDER BY status`, [[failing, approving, escalating]]);
      expect(rows.map((r) => [r.status, r.escalated])).toEqual([['granted', false], ['timed_out', false], ['timed_out', true]]);
    });
  });

  describe('timeouts', () => {
    it('re-arms the heartbeat timer while heartbeats arrive, and times the attempt out when they stop', async () => {
      const runId = `beat-${Date.now()}`;
      hanging.add(runId);
      await ex.requestRun(BEATING, { runId });
      await ex.waitForEvent(runId, 'step.started');
      // Fire-and-forget: a beat records no outcome event (one a second would flood the log), only the projection moves.
      const beat = await ex.send('heartbeat_step', { runId, stepId: 'long', attempt: 1 }, 'worker', 1_500);
      expect(beat.status).toBe('pending');
      await eventually(async () => {
        const { rows } = await ex.pool.query(`SELECT last_heartbeat_at FROM executor_steps WHERE run_id = $1 AND step_id = 'long'`, [runId]);
        expect(rows[0]?.last_heartbeat_at).not.toBeNull();
      });
      expect(await ex.pool.query(`SELECT 1 FROM events WHERE stream_id = $1`, [`command-${beat.commandId}`]).then((r) => r.rowCount)).toBe(0);
      const malformed = await ex.send('heartbeat_step', { runId, stepId: 'long', attempt: 0 }, 'worker');
      expect(malformed).toMatchObject({ status: 'rejected' });
      await ex.fireTimer(runId, (t) => t.timerId === `${runId}:long:1:heartbeat:1`);
      await ex.waitForEvent(runId, 'timer.requested', (d) => d.timerId === `${runId}:long:1:heartbeat:2`);
      offsetMs = 31_000; // the worker went quiet for longer than the interval
      try {
        await ex.fireTimer(runId, (t) => t.timerId === `${runId}:long:1:heartbeat:2`);
        await ex.waitForEvent(runId, 'step.timed_out', (d) => d.timeout === 'heartbeat');
      } finally {
        offsetMs = 0;
      }
      expect((await ex.waitForEvent(runId, 'step.retry_scheduled')).data).toMatchObject({ nextAttempt: 2 });
    });

    it('times the whole run out: its active steps are cancelled', async () => {
      const runId = `runto-${Date.now()}`;
      hanging.add(runId);
      await ex.requestRun(BEATING, { runId });
      await ex.waitForEvent(runId, 'step.started');
      const timer = (await ex.timers(runId)).find((t) => t.payload.kind === 'run_timeout')!;
      const queuedAt = (await ex.waitForEvent(runId, 'run.queued')).data as { queuedAt: string };
      expect(Date.parse(timer.dueAt) - Date.parse(queuedAt.queuedAt)).toBe(600_000);
      await ex.fireTimer(runId, (t) => t.payload.kind === 'run_timeout');
      await ex.waitForStatus(runId, 'timed_out');
      expect(await ex.types(runId)).toContain('step.cancelled');
    });
  });

  describe('concurrency limit 1 and the overlap policy', () => {
    const finish = (runId: string) => ex.send('report_step_result', { runId, stepId: 'work', attempt: 1, outcome: { status: 'succeeded', outputs: {} } }, 'worker');

    it('skip: a run requested while one is active is cancelled at once', async () => {
      const wf = scheduled('skip');
      const first = `skip-1-${Date.now()}`;
      hanging.add(first);
      await ex.requestRun(wf, { runId: first, trigger: schedule });
      await ex.waitForStatus(first, 'running');
      const second = await ex.requestRun(wf, { trigger: schedule });
      await ex.waitForStatus(second, 'cancelled');
      expect((await ex.waitForEvent(second, 'run.cancelled')).data).toMatchObject({ actor: 'steward:executor', reason: expect.stringContaining('overlap policy skip') });
      await finish(first);
      await ex.waitForStatus(first, 'succeeded');
      // The slot is free again.
      const third = await ex.requestRun(wf, { trigger: schedule });
      await ex.waitForStatus(third, 'succeeded');
    });

    it('buffer_one: one run waits, a further one is skipped; the waiting run starts when the slot frees', async () => {
      const wf = scheduled('buffer_one');
      const first = `buf-1-${Date.now()}`;
      hanging.add(first);
      await ex.requestRun(wf, { runId: first, trigger: schedule });
      await ex.waitForStatus(first, 'running');
      const second = await ex.requestRun(wf, { trigger: schedule });
      await ex.waitForStatus(second, 'pending');
      const third = await ex.requestRun(wf, { trigger: schedule });
      await ex.waitForStatus(third, 'cancelled');
      await finish(first);
      await ex.waitForStatus(second, 'succeeded');
      expect(await ex.types(second)).toEqual(expect.arrayContaining(['run.requested', 'run.queued', 'run.succeeded']));
    });

    it('cancel_previous: the new run cancels the active one and takes its slot; an operator run waits its turn', async () => {
      const wf = scheduled('cancel_previous');
      const first = `cp-1-${Date.now()}`;
      hanging.add(first);
      await ex.requestRun(wf, { runId: first, trigger: schedule });
      await ex.waitForStatus(first, 'running');
      const second = `cp-2-${Date.now()}`;
      hanging.add(second);
      await ex.requestRun(wf, { runId: second, trigger: schedule });
      await ex.waitForStatus(first, 'cancelled');
      expect((await ex.waitForEvent(first, 'run.cancelled')).data).toMatchObject({ reason: `overlap policy cancel_previous: superseded by run ${second}` });
      await ex.waitForStatus(second, 'running');
      const manual = await ex.requestRun(wf, { trigger: { kind: 'manual', actor: 'ana' } });
      await ex.waitForStatus(manual, 'pending');
      await finish(second);
      await ex.waitForStatus(manual, 'succeeded');
    });
  });
});
