import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra, type SchedulerHarness } from '../testing/scheduler.fixture';

describe('cron schedules across daylight saving changes', () => {
  const env = useTestEnvironment({ label: 'scheddst', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock('2026-03-28T00:00:00Z');
  let db: Infra;
  let scheduler: SchedulerHarness;

  beforeAll(async () => {
    db = infra(env);
    scheduler = await startScheduler(env, clock);
    new TestRelay(env, db.store).start();
  });

  const occurrences = async (workflowId: string) =>
    (await db.eventsOf('schedule.run_requested', { workflowId })).map((e) => e.data.occurrence.at as string);

  it('fires a Europe/Berlin 02:30 daily job exactly once on spring-forward day, at 03:00 CEST', async () => {
    await db.send('apply_workflow', { yaml: workflowYaml('berlin', '{ cron: "30 2 * * *", timezone: Europe/Berlin }') });
    await db.send('pause_workflow', { id: 'berlin' }).then(() => db.send('resume_workflow', { id: 'berlin' }));
    // Ten-minute steps through three days, the change day (29 March 2026) in the middle.
    while (clock.now().getTime() < Date.parse('2026-03-31T00:00:00Z')) {
      clock.advance(10 * 60_000);
      await scheduler.tick();
    }
    expect(await occurrences('berlin')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    const runs = await db.eventsOf('schedule.run_requested', { workflowId: 'berlin' });
    expect(runs.map((r) => r.streamId)).toEqual(runs.map((r) => `occurrence-${r.data.occurrence.id}`));
    expect(runs[1]!.data).toMatchObject({ trigger: { kind: 'schedule' }, occurrence: { id: 'berlin@2026-03-29T01:00:00.000Z' }, version: 1 });
    expect(new Set(runs.map((r) => r.data.runId)).size).toBe(3);
    expect(await db.eventsOf('schedule.occurrence_missed')).toEqual([]);
  });
});
