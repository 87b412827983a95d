import { parseWorkflow } from '@steward/workflow';
import { deterministicRunId } from '../runs/run-request.decide';
import { isTimedSchedule, occurrenceEvents, planOccurrences, type TimedSchedule } from './occurrence.decide';

function scheduleOf(schedule: string): TimedSchedule {
  const s = parseWorkflow(`id: w\nowner: o\nrunbook: r\nschedule: ${schedule}\nsteps:\n  - id: a\n    task: { handler: noop }\n`).schedule;
  if (!isTimedSchedule(s)) throw new Error('not a timed schedule');
  return s;
}

/** Ticks every `stepMs` from `from` to `to`, carrying the cursor like the scheduler does; returns what fired. */
function simulate(schedule: TimedSchedule, from: string, to: string, stepMs = 60_000, graceMs = 30_000): string[] {
  let cursor = new Date(from);
  const fired: string[] = [];
  for (let t = Date.parse(from) + stepMs; t <= Date.parse(to); t += stepMs) {
    const plan = planOccurrences('w', schedule, cursor, new Date(t), graceMs);
    fired.push(...plan.fire.map((o) => o.at.toISOString()));
    cursor = plan.cursor;
  }
  return fired;
}

describe('occurrence planning', () => {
  describe('daylight saving days', () => {
    it('Europe/Berlin spring forward: 02:30 runs once, at 03:00 CEST', () => {
      expect(simulate(scheduleOf('{ cron: "30 2 * * *", timezone: Europe/Berlin }'), '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z')).toEqual([
        '2026-03-29T01:00:00.000Z',
        '2026-03-30T00:30:00.000Z',
      ]);
    });

    it('Europe/Berlin fall back: 02:30 runs once, at the first 02:30 (CEST)', () => {
      expect(simulate(scheduleOf('{ cron: "30 2 * * *", timezone: Europe/Berlin }'), '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z')).toEqual(['2026-10-25T00:30:00.000Z']);
    });

    it('America/New_York fall back: 01:30 runs once; spring forward: 02:30 runs at 03:00 EDT', () => {
      const s = scheduleOf('{ cron: "30 1 * * *", timezone: America/New_York }');
      expect(simulate(s, '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z')).toEqual(['2026-11-01T05:30:00.000Z']);
      const spring = scheduleOf('{ cron: "30 2 * * *", timezone: America/New_York }');
      expect(simulate(spring, '2026-03-07T12:00:00Z', '2026-03-08T12:00:00Z')).toEqual(['2026-03-08T07:00:00.000Z']);
    });

    it('an every-15-minutes cron follows real time: 92 runs on New York\'s 23-hour day', () => {
      const s = scheduleOf('{ cron: "*/15 * * * *", timezone: America/New_York }');
      expect(simulate(s, '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 5 * 60_000)).toHaveLength(92);
    });
  });

  it('waits for the jittered fire time, which every replica computes the same', () => {
    const s = scheduleOf('{ every: 1h, jitter: 10m }');
    const first = planOccurrences('w', s, new Date('2026-01-01T00:30:00Z'), new Date('2026-01-01T01:00:00Z'), 30_000);
    expect(first.fire).toEqual([]);
    expect(first.cursor.getTime()).toBeLessThan(Date.parse('2026-01-01T01:00:00Z'));
    const dueAt = first.nextDueAt!;
    expect(dueAt.getTime()).toBeGreaterThanOrEqual(Date.parse('2026-01-01T01:00:00Z'));
    expect(dueAt.getTime()).toBeLessThan(Date.parse('2026-01-01T01:10:00Z'));
    const atDue = planOccurrences('w', s, first.cursor, dueAt, 30_000);
    expect(atDue.fire.map((o) => o.id)).toEqual(['w@2026-01-01T01:00:00.000Z']);
    expect(atDue.nextDueAt!.getTime()).toBeGreaterThanOrEqual(Date.parse('2026-01-01T02:00:00Z'));
  });

  it('fires a one-off once, late if the scheduler was down, and then has nothing next', () => {
    const s = scheduleOf('{ at: "2026-12-01T09:00:00Z" }');
    const plan = planOccurrences('w', s, new Date('2026-11-30T00:00:00Z'), new Date('2026-12-01T11:00:00Z'), 30_000);
    expect(plan.fire.map((o) => o.at.toISOString())).toEqual(['2026-12-01T09:00:00.000Z']);
    expect(plan.nextDueAt).toBeNull();
  });

  it('writes one event per occurrence to its own stream, with a run id derived from the occurrence', () => {
    const s = scheduleOf('{ every: 5m, catchup: all, catchupCap: 1 }');
    const plan = planOccurrences('w', s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:11:00Z'), 30_000);
    const writes = occurrenceEvents({ id: 'w', version: 3, hash: 'h', definition: {} as never }, s, plan, new Date('2026-01-01T00:11:00Z'));
    expect(writes.map((w) => [w.streamId, w.event.type])).toEqual([
      ['occurrence-w@2026-01-01T00:05:00.000Z', 'schedule.occurrence_missed'],
      ['occurrence-w@2026-01-01T00:10:00.000Z', 'schedule.run_requested'],
    ]);
    expect(writes[1]!.event.data).toMatchObject({ runId: deterministicRunId('w@2026-01-01T00:10:00.000Z'), version: 3 });
    expect(deterministicRunId('a')).toBe(deterministicRunId('a'));
    expect(deterministicRunId('a')).not.toBe(deterministicRunId('b'));
    expect(deterministicRunId('a')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
