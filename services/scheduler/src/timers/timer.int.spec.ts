import { TimerCancelled, TimerRequested, type EventData } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, type Infra } from '../testing/scheduler.fixture';

const T0 = Date.parse('2026-08-01T09:00:00Z');

describe('durable timers', () => {
  const env = useTestEnvironment({ label: 'schedtimers', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock(T0);
  let db: Infra;

  beforeAll(() => {
    db = infra(env);
    new TestRelay(env, db.store).start();
  });

  const request = (timerId: string, dueInMs: number, owner = 'executor') => {
    const data: EventData<typeof TimerRequested> = {
      timerId,
      owner,
      dueAt: new Date(T0 + dueInMs).toISOString(),
      payload: { kind: 'retry', stepId: 'fetch', attempt: 2 },
      correlation: { correlationId: 'corr-1', causationId: 'cause-1' },
    };
    // As the executor does: on one of its own streams.
    return db.append('run-r1', [{ type: TimerRequested.type, data, metadata: { runId: 'r1', workflowId: 'prices', correlationId: 'corr-1' } }]);
  };
  const cancel = (timerId: string) => {
    const data: EventData<typeof TimerCancelled> = { timerId, owner: 'executor', cancelledAt: new Date(T0).toISOString() };
    return db.append('run-r1', [{ type: TimerCancelled.type, data }]);
  };
  const pending = async (timerId: string) => {
    const { rows } = await db.pool.query(`SELECT fired, cancelled, due_at FROM scheduler_timers WHERE timer_id = $1`, [timerId]);
    return rows[0];
  };
  const firedEvents = (timerId: string) => db.pool.query(`SELECT stream_id, data, metadata FROM events WHERE type = 'timer.fired' AND data->>'timerId' = $1`, [timerId]).then((r) => r.rows);

  it('fires at the due time, not before, exactly once, routed to its owner with payload and correlation', async () => {
    const scheduler = await startScheduler(env, clock);
    await request('r1:fetch:2:retry', 30_000);
    await eventually(async () => expect(await pending('r1:fetch:2:retry')).toMatchObject({ fired: false }));

    clock.set(new Date(T0 + 29_999));
    expect((await scheduler.tick()).timersFired).toBe(0);
    clock.set(new Date(T0 + 30_000));
    expect((await scheduler.tick()).timersFired).toBe(1);
    expect((await scheduler.tick()).timersFired).toBe(0);

    const fired = await firedEvents('r1:fetch:2:retry');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      stream_id: 'timer-r1:fetch:2:retry',
      data: { owner: 'executor', dueAt: new Date(T0 + 30_000).toISOString(), firedAt: new Date(T0 + 30_000).toISOString(), payload: { kind: 'retry', stepId: 'fetch', attempt: 2 }, correlation: { correlationId: 'corr-1' } },
      metadata: { correlationId: 'corr-1', causationId: 'cause-1', runId: 'r1', workflowId: 'prices' },
    });
    // The relay routes it by owner, so the executor's consumer filters one subject.
    await eventually(() => env.nats.jsm.streams.getMessage(env.nats.subjects.stream('EVENTS'), { last_by_subj: env.nats.subjects.event('timer.fired', 'executor') }));
    await scheduler.close();
  });

  it('does not fire a cancelled timer, whichever of request and cancellation is handled first', async () => {
    const scheduler = await startScheduler(env, clock, { instance: 'cancel' });
    await request('t-cancelled', 60_000);
    await cancel('t-cancelled');
    await cancel('t-cancelled-early');
    await request('t-cancelled-early', 60_000);
    await eventually(async () => {
      expect(await pending('t-cancelled')).toMatchObject({ cancelled: true });
      expect(await pending('t-cancelled-early')).toMatchObject({ cancelled: true });
      expect((await pending('t-cancelled-early')).due_at).not.toBeNull();
    });
    clock.set(new Date(T0 + 120_000));
    await scheduler.tick();
    expect(await firedEvents('t-cancelled')).toEqual([]);
    expect(await firedEvents('t-cancelled-early')).toEqual([]);
    await scheduler.close();
  });

  it('records timer requests delivered together in shared transactions and statements, each once', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `t-burst-${i}`);
    const data = (timerId: string): EventData<typeof TimerRequested> => ({
      timerId,
      owner: 'executor',
      dueAt: new Date(T0 + 60_000).toISOString(),
      payload: { kind: 'retry' },
      correlation: { correlationId: 'corr-burst' },
    });
    // Stored (and relayed) before the replica starts: its first fetch takes them all.
    // A second request of one timer id among them: the first counts, as when each is written on its own.
    const again = { ...data(ids[0]!), dueAt: new Date(T0 + 120_000).toISOString() };
    await db.append('run-burst', [...ids.map(data), again].map((d) => ({ type: TimerRequested.type, data: d, metadata: { runId: 'burst', correlationId: 'corr-burst' } })));
    await new Promise((r) => setTimeout(r, 500));
    const scheduler = await startScheduler(env, clock, { instance: 'burst' });
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler_timers WHERE timer_id = ANY($1::text[])`, [ids]);
      expect(rows[0]!.n).toBe(ids.length);
    });
    // Rows written by one transaction share its xmin.
    const { rows } = await db.pool.query<{ transactions: number }>(`SELECT count(DISTINCT xmin::text)::int AS transactions FROM scheduler_timers WHERE timer_id = ANY($1::text[])`, [ids]);
    expect(rows[0]!.transactions).toBeLessThan(ids.length);
    expect((await pending(ids[0]!)).due_at).toEqual(new Date(T0 + 60_000));
    await scheduler.close();
  });

  it('fires a timer requested before a restart once, after the restart', async () => {
    clock.set(new Date(T0));
    const before = await startScheduler(env, clock, { instance: 'before' });
    await request('t-restart', 3_600_000);
    await eventually(async () => expect(await pending('t-restart')).toMatchObject({ fired: false }));
    await before.close();

    clock.set(new Date(T0 + 3_600_000 + 5_000));
    const after = await startScheduler(env, clock, { instance: 'after' });
    await after.tick();
    await after.tick();
    const fired = await firedEvents('t-restart');
    expect(fired).toHaveLength(1);
    expect(fired[0].data.firedAt).toBe(new Date(T0 + 3_605_000).toISOString());
  });
});
