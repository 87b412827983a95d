import {
  jitterOffset,
  matchesTrigger,
  missedOccurrences,
  nextOccurrence,
  occurrenceId,
  occurrenceOf,
  occurrencesBetween,
  type CronSchedule,
  type EventSchedule,
  type IntervalSchedule,
  type Schedule,
} from './index';

const cron = (pattern: string, timezone: string, over: Partial<CronSchedule> = {}): CronSchedule => ({
  kind: 'cron',
  cron: pattern,
  timezone,
  catchup: 'latest',
  catchupCap: 10,
  overlap: 'skip',
  ...over,
});
const utc = (s: string) => new Date(`${s}Z`);
const isoList = (dates: Date[]) => dates.map((d) => d.toISOString().replace('.000Z', 'Z'));

/** Every occurrence whose instant falls on the given local calendar day. */
function onLocalDay(schedule: Schedule, from: string, to: string): string[] {
  return isoList(occurrencesBetween(schedule, utc(from), utc(to)).occurrences);
}

describe('cron schedules across DST changes', () => {
  // Croner's documented rule (Vixie cron): a fixed-time job in the spring gap
  // runs once at the first valid time after it (03:00); on fall-back day it
  // runs once, at the first of the two 02:30s.
  it('Europe/Berlin spring forward (29 Mar 2026): a 02:30 daily job runs once, at 03:00 CEST', () => {
    expect(onLocalDay(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-27T23:00:00', '2026-03-30T22:00:00')).toEqual([
      '2026-03-28T01:30:00Z', // 02:30 CET
      '2026-03-29T01:00:00Z', // 03:00 CEST: 02:30 does not exist that day
      '2026-03-30T00:30:00Z', // 02:30 CEST
    ]);
  });

  it('Europe/Berlin fall back (25 Oct 2026): a 02:30 daily job runs once, not twice', () => {
    expect(onLocalDay(cron('30 2 * * *', 'Europe/Berlin'), '2026-10-24T22:00:00', '2026-10-25T23:00:00')).toEqual(['2026-10-25T00:30:00Z']);
  });

  it('America/New_York spring forward (8 Mar 2026): a 02:30 daily job runs once, at 03:00 EDT', () => {
    expect(onLocalDay(cron('30 2 * * *', 'America/New_York'), '2026-03-08T05:00:00', '2026-03-09T04:00:00')).toEqual(['2026-03-08T07:00:00Z']);
  });

  it('America/New_York fall back (1 Nov 2026): a 01:30 daily job runs once, at the first 01:30 (EDT)', () => {
    expect(onLocalDay(cron('30 1 * * *', 'America/New_York'), '2026-11-01T04:00:00', '2026-11-02T05:00:00')).toEqual(['2026-11-01T05:30:00Z']);
  });

  it('a list of fixed times keeps its run in the spring gap too', () => {
    expect(onLocalDay(cron('30 2,14 * * *', 'Europe/Berlin'), '2026-03-28T23:00:00', '2026-03-29T22:00:00')).toEqual(['2026-03-29T01:00:00Z', '2026-03-29T12:30:00Z']);
  });

  it('an hourly job runs every real hour: twice at local 02:00 on fall-back day, and the missing hour is skipped in spring', () => {
    expect(onLocalDay(cron('0 * * * *', 'Europe/Berlin'), '2026-10-24T23:30:00', '2026-10-25T02:30:00')).toEqual([
      '2026-10-25T00:00:00Z', // 02:00 CEST
      '2026-10-25T01:00:00Z', // 02:00 CET
      '2026-10-25T02:00:00Z', // 03:00 CET
    ]);
    expect(onLocalDay(cron('0 * * * *', 'Europe/Berlin'), '2026-03-28T23:30:00', '2026-03-29T02:30:00')).toEqual([
      '2026-03-29T00:00:00Z', // 01:00 CET
      '2026-03-29T01:00:00Z', // 03:00 CEST
      '2026-03-29T02:00:00Z', // 04:00 CEST
    ]);
  });

  it('*/15 follows real time: 100 runs on the 25-hour day, 92 on the 23-hour day (New York)', () => {
    const every15 = cron('*/15 * * * *', 'America/New_York');
    expect(occurrencesBetween(every15, utc('2026-11-01T03:59:59'), utc('2026-11-02T04:59:59')).occurrences).toHaveLength(100);
    expect(occurrencesBetween(every15, utc('2026-03-08T04:59:59'), utc('2026-03-09T03:59:59')).occurrences).toHaveLength(92);
  });

  it('gives the next occurrence strictly after a time', () => {
    const s = cron('*/15 * * * *', 'Europe/Berlin');
    expect(nextOccurrence(s, utc('2026-01-01T10:00:00'))).toEqual(utc('2026-01-01T10:15:00'));
    expect(nextOccurrence(s, utc('2026-01-01T10:07:00'))).toEqual(utc('2026-01-01T10:15:00'));
  });
});

describe('interval, one-off and event schedules', () => {
  const hourly: IntervalSchedule = { kind: 'interval', everyMs: 3_600_000, phaseMs: 900_000, catchup: 'latest', catchupCap: 10, overlap: 'skip' };

  it('runs at a fixed interval with a phase from the epoch, the same on every replica', () => {
    expect(nextOccurrence(hourly, utc('2026-01-01T10:20:00'))).toEqual(utc('2026-01-01T11:15:00'));
    expect(nextOccurrence(hourly, utc('2026-01-01T11:15:00'))).toEqual(utc('2026-01-01T12:15:00'));
    expect(isoList(occurrencesBetween(hourly, utc('2026-01-01T10:00:00'), utc('2026-01-01T13:15:00')).occurrences)).toEqual([
      '2026-01-01T10:15:00Z',
      '2026-01-01T11:15:00Z',
      '2026-01-01T12:15:00Z',
      '2026-01-01T13:15:00Z',
    ]);
  });

  it('runs a one-off once, and event triggers have no times of their own', () => {
    const once: Schedule = { kind: 'once', at: '2026-12-01T09:00:00.000Z' };
    expect(nextOccurrence(once, utc('2026-11-30T00:00:00'))).toEqual(utc('2026-12-01T09:00:00'));
    expect(nextOccurrence(once, utc('2026-12-01T09:00:00'))).toBeNull();
    expect(missedOccurrences(once, utc('2026-11-30T00:00:00'), utc('2026-12-02T00:00:00')).fire).toEqual([utc('2026-12-01T09:00:00')]);
    const on: EventSchedule = { kind: 'event', on: 'collection.raw_captured', where: { source: 'portal', 'meta.kind': 'csv' }, overlap: 'allow' };
    expect(nextOccurrence(on, utc('2026-01-01T00:00:00'))).toBeNull();
    expect(matchesTrigger(on, { type: 'collection.raw_captured', data: { source: 'portal', meta: { kind: 'csv' } } })).toBe(true);
    expect(matchesTrigger(on, { type: 'collection.raw_captured', data: { source: 'portal', meta: { kind: 'json' } } })).toBe(false);
    expect(matchesTrigger(on, { type: 'collection.raw_captured', data: { source: 'portal' } })).toBe(false);
    expect(matchesTrigger(on, { type: 'run.started', data: { source: 'portal', meta: { kind: 'csv' } } })).toBe(false);
  });
});

describe('missed occurrences after a 1-hour outage of a */15 schedule', () => {
  const every15 = cron('*/15 * * * *', 'Europe/Berlin');
  const lastFired = utc('2026-05-04T10:00:00');
  const now = utc('2026-05-04T11:05:00');

  it('skip: fires none of the four missed occurrences and reports each as skipped', () => {
    expect(missedOccurrences(every15, lastFired, now, 'skip', 10)).toEqual({
      fire: [],
      skipped: [utc('2026-05-04T10:15:00'), utc('2026-05-04T10:30:00'), utc('2026-05-04T10:45:00'), utc('2026-05-04T11:00:00')],
      truncated: false,
    });
  });

  it('latest (the default): fires only the most recent one', () => {
    const result = missedOccurrences(every15, lastFired, now);
    expect(isoList(result.fire)).toEqual(['2026-05-04T11:00:00Z']);
    expect(result.skipped).toHaveLength(3);
  });

  it('all: fires every missed occurrence, oldest first, up to the cap', () => {
    expect(isoList(missedOccurrences(every15, lastFired, now, 'all', 10).fire)).toEqual(['2026-05-04T10:15:00Z', '2026-05-04T10:30:00Z', '2026-05-04T10:45:00Z', '2026-05-04T11:00:00Z']);
    const capped = missedOccurrences(every15, lastFired, now, 'all', 2);
    expect(isoList(capped.fire)).toEqual(['2026-05-04T10:45:00Z', '2026-05-04T11:00:00Z']);
    expect(isoList(capped.skipped)).toEqual(['2026-05-04T10:15:00Z', '2026-05-04T10:30:00Z']);
  });

  it('an occurrence within the grace period is on time and fires under every policy', () => {
    const options = { graceMs: 10 * 60_000 };
    for (const policy of ['skip', 'latest', 'all'] as const) {
      expect(isoList(missedOccurrences(every15, lastFired, now, policy, 10, options).fire).at(-1)).toBe('2026-05-04T11:00:00Z');
    }
    expect(missedOccurrences(every15, lastFired, now, 'latest', 10, options).fire).toHaveLength(1);
    expect(missedOccurrences(every15, lastFired, now, 'skip', 10, options).skipped).toHaveLength(3);
  });

  it('nothing is missed when nothing was due', () => {
    expect(missedOccurrences(every15, utc('2026-05-04T11:00:00'), utc('2026-05-04T11:10:00'))).toEqual({ fire: [], skipped: [], truncated: false });
  });

  it('after a very long outage considers only the most recent occurrences', () => {
    const everyMinute = cron('* * * * *', 'UTC');
    const result = missedOccurrences(everyMinute, utc('2026-01-01T00:00:00'), utc('2026-02-01T00:00:00'), 'all', 5, { limit: 100 });
    expect(result.truncated).toBe(true);
    // Five missed ones (the cap), plus the one due exactly now, which is on time.
    expect(isoList(result.fire)).toEqual(['2026-01-31T23:55:00Z', '2026-01-31T23:56:00Z', '2026-01-31T23:57:00Z', '2026-01-31T23:58:00Z', '2026-01-31T23:59:00Z', '2026-02-01T00:00:00Z']);
    expect(result.skipped).toHaveLength(94);
  });
});

describe('occurrence ids and jitter', () => {
  it('names an occurrence by workflow and instant, so every replica makes the same run id', () => {
    expect(occurrenceId('supplier-prices', utc('2026-05-04T10:15:00'))).toBe('supplier-prices@2026-05-04T10:15:00.000Z');
  });

  it('derives jitter from the occurrence id: deterministic, bounded and spread', () => {
    const ids = Array.from({ length: 200 }, (_, i) => occurrenceId('w', new Date(Date.UTC(2026, 0, 1, 0, i * 15))));
    const offsets = ids.map((id) => jitterOffset(id, 60_000));
    expect(offsets).toEqual(ids.map((id) => jitterOffset(id, 60_000)));
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThan(60_000);
    expect(new Set(offsets).size).toBeGreaterThan(190);
    expect(jitterOffset('w@x', 0)).toBe(0);
  });

  it('fires an occurrence at its time plus its jitter', () => {
    const s = cron('*/15 * * * *', 'UTC', { jitterMs: 120_000 });
    const o = occurrenceOf('w', s, utc('2026-05-04T10:15:00'));
    expect(o.id).toBe('w@2026-05-04T10:15:00.000Z');
    expect(o.fireAt.getTime() - o.at.getTime()).toBe(jitterOffset(o.id, 120_000));
    expect(occurrenceOf('w', cron('*/15 * * * *', 'UTC'), o.at).fireAt).toEqual(o.at);
  });
});
