import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type EventEnvelope } from '@steward/contracts';
import { createPool, EventStore, InboxBatcher, migrate, processOnce } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { ensureAlerterSchema } from '../projection/alerter.migrations';
import { SignalBatchRepository } from '../projection/signal-batch.repository';
import { BURN_WINDOWS_MS } from '../domain/burn-rate';
import { SignalRepository } from '../projection/signal.repository';
import { LiveWorkflowSignals } from '../projection/workflow-signals.repository';
import { WorkflowSnapshotRepository } from '../projection/workflow-snapshot.repository';
import { SignalProjector } from './signal.projector';

const BASE = Date.parse('2026-12-03T10:00:00Z');
const at = (s: number) => new Date(BASE + s * 1000).toISOString();

function envelope(type: string, data: Record<string, unknown>, workflowId: string): EventEnvelope {
  return { specversion: '1.0', id: uuidv7(), source: 'test', type, time: at(0), datacontenttype: 'application/json', dataschemaversion: 1, streamid: 'test', streamversion: 0, correlationid: 'c', workflowid: workflowId, data };
}

/**
 * Many events of one workflow (so of one scope), in delivery order: runs
 * whose attempts are queued, started and end (one out of order), a run
 * ended twice, a heartbeat stall closed by its run's end, a dead letter
 * requeued, fetches of a source; `p` prefixes every id so that two copies
 * can live in one database.
 */
function history(p: string): EventEnvelope[] {
  const wf = `${p}-wf`;
  const e = (type: string, data: Record<string, unknown>) => envelope(type, data, wf);
  const step = (runId: string, stepId: string, attempt: number) => ({ runId, workflowId: wf, stepId, attempt });
  const events: EventEnvelope[] = [
    e('workflow.applied', { id: wf, version: 1, hash: 'a'.repeat(64), definition: {}, owner: 'team', runbook: 'rb.md', slo: { successRate: 0.9 }, appliedAt: at(0) }),
  ];
  for (let i = 0; i < 12; i++) {
    const run = `${p}-r${i}`;
    events.push(
      e('step.queued', { ...step(run, 'fetch', 1), target: { service: 'pool-a' }, queuedAt: at(10 * i) }),
      e('step.started', { ...step(run, 'fetch', 1), startedAt: at(10 * i + 1) }),
      e('step.succeeded', { ...step(run, 'fetch', 1), succeededAt: at(10 * i + 3 + (i % 2)) }),
      e('run.succeeded', { runId: run, workflowId: wf, succeededAt: at(10 * i + 4), durationMs: 4000 + 100 * (i % 3) }),
    );
  }
  const failing = `${p}-rf`;
  events.push(
    e('step.queued', { ...step(failing, 'fetch', 1), target: { service: 'pool-b' }, queuedAt: at(200) }),
    e('step.failed', { ...step(failing, 'fetch', 1), error: { code: 'http_500', message: 'boom', retryable: true }, failedAt: at(202) }),
    // Started reported after the outcome: it moves started_at, not the duration.
    e('step.started', { ...step(failing, 'fetch', 1), startedAt: at(201) }),
    e('step.queued', { ...step(failing, 'fetch', 2), target: { service: 'pool-b' }, queuedAt: at(203) }),
    e('step.timed_out', { ...step(failing, 'fetch', 2), timeout: 'heartbeat', timedOutAt: at(210) }),
    e('step.dead_lettered', {
      runId: failing, workflowId: wf, stepId: 'fetch', version: 1, reason: 'budget_exhausted',
      attempts: [{ attempt: 2, error: { code: 'heartbeat', message: 'silent', retryable: true }, failedAt: at(210) }], firstFailureAt: at(202), lastFailureAt: at(210), deadLetteredAt: at(211),
    }),
    e('step.requeued', { runId: failing, workflowId: wf, stepId: 'fetch', actor: 'ana', requeuedAt: at(212) }),
    e('run.failed', { runId: failing, workflowId: wf, failedSteps: [{ stepId: 'fetch', status: 'dead_lettered', error: { code: 'http_500', message: 'boom', retryable: true } }], failedAt: at(213), durationMs: 13000 }),
    // The same run reported again (another event id): the first outcome stays.
    e('run.timed_out', { runId: failing, workflowId: wf, timeoutMs: 99000, timedOutAt: at(214) }),
    e('collection.raw_captured', { source: `${p}-portal`, workflowId: wf, capturedAt: at(220) }),
    e('collection.failed', { source: `${p}-portal`, workflowId: wf, failureClass: 'transient', error: { code: 'timeout', message: 'slow' }, failedAt: at(221) }),
    e('workflow.paused', { id: wf, actor: 'ana', reason: 'maintenance', pausedAt: at(225) }),
    e('run.succeeded', { runId: `${p}-rlast`, workflowId: wf, succeededAt: at(230), durationMs: 9000 }),
    e('workflow.resumed', { id: wf, actor: 'ana', resumedAt: at(231) }),
    // Applied again with a new owner, then paused: the newest of each holds.
    e('workflow.applied', { id: wf, version: 2, hash: 'c'.repeat(64), definition: {}, owner: 'team-2', runbook: 'rb2.md', slo: { successRate: 0.95 }, appliedAt: at(232) }),
    e('workflow.paused', { id: wf, actor: 'ana', reason: 'again', pausedAt: at(233) }),
  );
  // A redelivery inside the batch: the same event (same id) a second time.
  events.splice(20, 0, events[7]!);
  return events;
}

/** Every signal row of one copy, its prefix and event ids taken out, in a stable order. */
async function signals(pool: Pool, p: string): Promise<Record<string, unknown[]>> {
  const strip = (rows: Record<string, unknown>[]) => JSON.parse(JSON.stringify(rows).replaceAll(`${p}-`, ''));
  const q = async (sql: string) => strip((await pool.query(sql, [`${p}-%`])).rows);
  return {
    workflows: await q(`SELECT workflow_id, owner, runbook, last_capture_at, paused, success_objective, applied_at FROM alerter_workflows WHERE workflow_id LIKE $1`),
    runs: await q(`SELECT run_id, outcome, duration_ms, error, ended_at FROM alerter_run_outcomes WHERE run_id LIKE $1 ORDER BY run_id`),
    attempts: await q(`SELECT run_id, step_id, attempt, service, queued_at, started_at, outcome, duration_ms, error, ended_at FROM alerter_step_attempts WHERE run_id LIKE $1 ORDER BY run_id, step_id, attempt`),
    stalled: await q(`SELECT run_id, step_id, attempt, timed_out_at, open FROM alerter_stalled_steps WHERE run_id LIKE $1 ORDER BY run_id, attempt`),
    deadLetters: await q(`SELECT run_id, step_id, error, dead_lettered_at, open, service FROM alerter_dead_letters WHERE run_id LIKE $1 ORDER BY run_id`),
    sources: await q(`SELECT source, workflow_id, ok, error, at FROM alerter_source_outcomes WHERE source LIKE $1 ORDER BY at`),
  };
}

describe('alerter ingest of a delivered batch', () => {
  const env = useTestEnvironment({ label: 'alrtbatch', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;
  const repository = new SignalRepository();
  const projector = new SignalProjector(repository, new SignalBatchRepository());
  const batcher = (consumer: string, maxBatch: number) =>
    new InboxBatcher<EventEnvelope>(pool, store, { consumer, maxBatch, maxWaitMs: 20, parallel: 1 }, (e) => e.id, (tx, events) => projector.applyBatch(tx, events, async () => undefined));

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 4 });
    env.track({ end: () => pool.end() });
    await ensureAlerterSchema(pool);
    store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'test' });
  });

  it('gives the same signal values in one batch, with a redelivered event inside it, as one event at a time', async () => {
    // One at a time through the per-event statements (the path before batching).
    const alone = history('alone');
    for (const e of alone) await processOnce(pool, store, 'alerter-alone', e.id, (tx) => projector.apply(tx, e));
    // One at a time through the batch path, a batch per event.
    const single = history('single');
    const singles = batcher('alerter-single', 1);
    for (const e of single) await singles.submit(e);
    // All at once: one batch, so one transaction, the redelivered copy counted once.
    const once = batcher('alerter-once', 1_000);
    const batched = history('batch');
    const outcome = await Promise.all(batched.map((e) => once.submit(e)));
    expect(outcome.filter((s) => s === 'duplicate')).toHaveLength(1);
    const { rows } = await pool.query(`SELECT count(DISTINCT xmin::text) AS transactions FROM alerter_run_outcomes WHERE run_id LIKE 'batch-%'`);
    expect(Number(rows[0].transactions)).toBe(1);

    const reference = await signals(pool, 'alone');
    expect(reference.workflows).toEqual([expect.objectContaining({ workflow_id: 'wf', owner: 'team-2', paused: true, success_objective: 0.95 })]);
    expect(reference.runs).toHaveLength(14);
    expect(reference.runs).toContainEqual(expect.objectContaining({ run_id: 'rf', outcome: 'failed' }));
    // Queued at 200 s, failed at 202 s, its start reported afterwards: the duration counts from the queue.
    expect(reference.attempts).toContainEqual(expect.objectContaining({ run_id: 'rf', attempt: 1, duration_ms: '2000', started_at: at(201) }));
    expect(reference.stalled).toEqual([expect.objectContaining({ run_id: 'rf', attempt: 2, open: false })]);
    expect(reference.deadLetters).toEqual([expect.objectContaining({ run_id: 'rf', open: false, service: 'pool-b' })]);
    expect(await signals(pool, 'single')).toEqual(reference);
    expect(await signals(pool, 'batch')).toEqual(reference);
  });

  it('reads the signals of many workflows in one statement as the per-workflow queries read them', async () => {
    // A workflow failing now: a streak, an open dead letter, a stalled attempt, failed and slow steps.
    const wf = 'streak-wf';
    const e = (type: string, data: Record<string, unknown>) => envelope(type, data, wf);
    const events = [e('workflow.applied', { id: wf, version: 1, hash: 'b'.repeat(64), definition: {}, owner: 'team', runbook: 'rb.md', slo: { successRate: 0.99, freshnessMs: 60_000 }, appliedAt: at(0) })];
    for (let i = 0; i < 8; i++) {
      const runId = `streak-r${i}`;
      const failed = i >= 3;
      events.push(
        e('step.queued', { runId, workflowId: wf, stepId: i % 2 ? 'load' : 'fetch', attempt: 1, target: { service: 'pool-c' }, queuedAt: at(100 + 10 * i) }),
        failed
          ? e('step.failed', { runId, workflowId: wf, stepId: i % 2 ? 'load' : 'fetch', attempt: 1, error: { code: 'http_503', message: `down ${i}`, retryable: true }, failedAt: at(105 + 10 * i) })
          : e('step.succeeded', { runId, workflowId: wf, stepId: i % 2 ? 'load' : 'fetch', attempt: 1, succeededAt: at(101 + 10 * i + i) }),
        failed
          ? e('run.failed', { runId, workflowId: wf, failedSteps: [{ stepId: 'fetch', status: 'failed', error: { code: 'http_503', message: `down ${i}`, retryable: true } }], failedAt: at(106 + 10 * i), durationMs: 6000 })
          : e('run.succeeded', { runId, workflowId: wf, succeededAt: at(106 + 10 * i), durationMs: 6000 + 500 * i }),
      );
    }
    events.push(
      e('step.dead_lettered', { runId: 'streak-r7', workflowId: wf, stepId: 'load', version: 1, reason: 'budget_exhausted', attempts: [{ attempt: 1, error: { code: 'http_503', message: 'down', retryable: true }, failedAt: at(175) }], firstFailureAt: at(175), lastFailureAt: at(175), deadLetteredAt: at(176) }),
      e('step.timed_out', { runId: 'streak-r9', workflowId: wf, stepId: 'fetch', attempt: 1, timeout: 'heartbeat', timedOutAt: at(190) }),
    );
    const streaks = batcher('alerter-streak', 1_000);
    await Promise.all(events.map((ev) => streaks.submit(ev)));

    const ids = ['alone-wf', 'batch-wf', wf, 'never-applied'];
    const now = new Date(BASE + 400_000);
    const settings = { baselineLimit: 6, latestFailureWithin: 20, burnWindowsMs: BURN_WINDOWS_MS, stepsSince: new Date(BASE - 1_000), stepWindowsMs: [60_000, 3_600_000] };
    const snapshots = await new WorkflowSnapshotRepository(repository).load(pool, ids.map((id) => ({ workflowId: id, streakLimit: 5, windowsMs: [60_000, 900_000] })), now, settings);
    for (const id of ids) {
      const snap = snapshots.get(id)!;
      const live = new LiveWorkflowSignals(pool, repository, await repository.workflow(pool, id), id);
      expect(snap.meta).toEqual(live.meta);
      expect(await snap.failureStreak(5)).toEqual(await live.failureStreak(5));
      expect(await snap.baseline(6)).toEqual(await live.baseline(6));
      expect(await snap.openDeadLetters()).toEqual(await live.openDeadLetters());
      expect(await snap.openStalledSteps()).toEqual(await live.openStalledSteps());
      const windows = [60_000, 900_000, ...(live.meta?.successObjective != null ? BURN_WINDOWS_MS : [])];
      expect(await snap.windowCounts(now, windows)).toEqual(await live.windowCounts(now, windows));
      if (live.meta?.successObjective != null) expect(await snap.latestFailureError(20)).toEqual(await live.latestFailureError(20));
      const steps = await live.activeSteps(settings.stepsSince);
      expect(await snap.activeSteps(settings.stepsSince)).toEqual(steps);
      for (const step of steps) {
        for (const w of settings.stepWindowsMs) expect(await snap.stepWindow(step, now, w)).toEqual(await live.stepWindow(step, now, w));
        expect(await snap.stepBaseline(step, 6)).toEqual(await live.stepBaseline(step, 6));
      }
    }
    const streak = snapshots.get(wf)!;
    expect(await streak.failureStreak(5)).toMatchObject({ count: 5, newestError: 'fetch: http_503: down 7' });
    expect(await streak.openDeadLetters()).toMatchObject({ count: 1 });
    expect(await streak.openStalledSteps()).toMatchObject({ count: 1 });
    expect((await streak.baseline(6)).earlier).toHaveLength(2);
  });
});
