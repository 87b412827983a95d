import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra } from '../testing/scheduler.fixture';

describe('two scheduler replicas', () => {
  const env = useTestEnvironment({ label: 'schedreplicas', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock('2026-07-01T12:00:00Z');
  let db: Infra;

  beforeAll(() => {
    db = infra(env);
    new TestRelay(env, db.store).start();
  });

  const perOccurrence = async () =>
    (
      await db.pool.query<{ stream_id: string; n: number }>(
        `SELECT stream_id, count(*)::int AS n FROM events WHERE stream_id LIKE 'occurrence-pulse@%' GROUP BY stream_id ORDER BY stream_id`,
      )
    ).rows;

  it('fire each of 500 occurrences exactly once, also when one replica re-plans occurrences the other fired', async () => {
    const a = await startScheduler(env, clock, { instance: 'a' });
    const b = await startScheduler(env, clock, { instance: 'b' });
    await db.send('apply_workflow', { yaml: workflowYaml('pulse', '{ every: 1s }') });
    for (let i = 0; i < 500; i++) {
      clock.advance(1000);
      await Promise.all([a.tick(), b.tick(), a.tick()]);
    }
    let rows = await perOccurrence();
    expect(rows).toHaveLength(500);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const runs = await db.eventsOf('schedule.run_requested', { workflowId: 'pulse' });
    expect(runs).toHaveLength(500);
    expect(new Set(runs.map((r) => r.data.runId)).size).toBe(500);

    // A replica whose cursor is behind (a restored projection, a crash between append and commit elsewhere)
    // plans 100 occurrences again: each stream already exists, so nothing is written twice.
    await db.pool.query(`UPDATE scheduler_schedules SET last_fired_at = last_fired_at - interval '100 seconds', next_due_at = last_fired_at - interval '99 seconds'`);
    await Promise.all([a.tick(), b.tick()]);
    rows = await perOccurrence();
    expect(rows).toHaveLength(500);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(await db.eventsOf('schedule.run_requested', { workflowId: 'pulse' })).toHaveLength(500);
  });
});
