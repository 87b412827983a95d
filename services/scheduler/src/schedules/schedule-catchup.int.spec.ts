import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra } from '../testing/scheduler.fixture';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('missed occurrences', () => {
  const env = useTestEnvironment({ label: 'schedcatchup', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock(T0);
  let db: Infra;

  beforeAll(() => {
    db = infra(env);
    new TestRelay(env, db.store).start();
  });

  const fired = async (id: string) => (await db.eventsOf('schedule.run_requested', { workflowId: id })).map((e) => e.data.occurrence.at);
  const missed = async (id: string) => (await db.eventsOf('schedule.occurrence_missed', { workflowId: id })).map((e) => [e.data.occurrence.at, e.data.reason]);

  it('after an hour down: skip fires none, latest fires the newest, all fires at most its cap; every other one is recorded as missed', async () => {
    const first = await startScheduler(env, clock);
    await db.send('apply_workflow', { yaml: workflowYaml('skipper', '{ every: 5m, catchup: skip }') });
    await db.send('apply_workflow', { yaml: workflowYaml('latest', '{ every: 5m, catchup: latest }') });
    await db.send('apply_workflow', { yaml: workflowYaml('all', '{ every: 5m, catchup: all, catchupCap: 3 }') });
    clock.set(at(5));
    await first.tick();
    for (const id of ['skipper', 'latest', 'all']) expect(await fired(id)).toEqual([at(5)]);
    await first.close();

    // Down from 00:05 to 01:07: occurrences 00:10 ... 01:05 (12) passed; the newest is 2 minutes late, past the 30 s grace.
    clock.set(at(67));
    const second = await startScheduler(env, clock);
    await second.tick();

    expect(await fired('skipper')).toEqual([at(5)]);
    expect(await missed('skipper')).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65].map((m) => [at(m), 'catchup_skip']));
    expect(await fired('latest')).toEqual([at(5), at(65)]);
    expect(await missed('latest')).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60].map((m) => [at(m), 'catchup_latest']));
    expect(await fired('all')).toEqual([at(5), at(55), at(60), at(65)]);
    expect(await missed('all')).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50].map((m) => [at(m), 'catchup_cap']));

    // Caught up: another tick at the same time adds nothing; the next occurrence fires on time.
    await second.tick();
    expect(await fired('latest')).toHaveLength(2);
    clock.set(at(70));
    await second.tick();
    for (const id of ['skipper', 'latest', 'all']) expect((await fired(id)).at(-1)).toBe(at(70));
  });

  it('stops firing while paused and, on resume, treats the occurrences it slept through by the catchup policy', async () => {
    const scheduler = await startScheduler(env, clock, { instance: 'pause' });
    await db.send('apply_workflow', { yaml: workflowYaml('pausable', '{ every: 1m }') }); // applied at 00:70
    clock.set(at(71));
    await scheduler.tick();
    expect(await fired('pausable')).toEqual([at(71)]);

    await db.send('pause_workflow', { id: 'pausable', reason: 'maintenance' });
    for (const m of [72, 73, 74]) {
      clock.set(at(m));
      await scheduler.tick();
    }
    expect(await fired('pausable')).toEqual([at(71)]);

    await db.send('resume_workflow', { id: 'pausable' });
    clock.set(new Date(Date.parse(at(74)) + 10_000)); // 10 s after the 74th minute: that one is on time
    await scheduler.tick();
    expect(await fired('pausable')).toEqual([at(71), at(74)]);
    expect(await missed('pausable')).toEqual([[at(72), 'catchup_latest'], [at(73), 'catchup_latest']]);
    clock.set(at(75));
    await scheduler.tick();
    expect((await fired('pausable')).at(-1)).toBe(at(75));
  });
});
