import { isoWeekOf, localDayOf, monthBounds, periodOf, zonedMidnight } from './month.period';

describe('month periods', () => {
  it('puts an instant in the month of its local calendar', () => {
    // 2026-11-30T11:30Z is already 1 December in Auckland (UTC+13 in summer).
    expect(periodOf(new Date('2026-11-30T11:30:00Z'), 'Pacific/Auckland')).toBe('2026-12');
    expect(periodOf(new Date('2026-11-30T10:59:59Z'), 'Pacific/Auckland')).toBe('2026-11');
    expect(periodOf(new Date('2026-11-30T11:30:00Z'), 'UTC')).toBe('2026-11');
    expect(localDayOf(new Date('2026-11-30T11:30:00Z'), 'Pacific/Auckland')).toBe('2026-12-01');
  });

  it('finds month bounds at local midnight, across DST changes', () => {
    const dec = monthBounds('2026-12', 'Pacific/Auckland');
    expect(dec.start.toISOString()).toBe('2026-11-30T11:00:00.000Z');
    expect(dec.end.toISOString()).toBe('2026-12-31T11:00:00.000Z');
    expect(dec.days).toBe(31);
    // Auckland leaves DST on 2026-04-05: April starts at UTC+13, May at UTC+12.
    const apr = monthBounds('2026-04', 'Pacific/Auckland');
    expect(apr.start.toISOString()).toBe('2026-03-31T11:00:00.000Z');
    expect(apr.end.toISOString()).toBe('2026-04-30T12:00:00.000Z');
    expect(monthBounds('2028-02', 'UTC').days).toBe(29);
    expect(zonedMidnight(2026, 3, 29, 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
  });

  it('names ISO weeks', () => {
    expect(isoWeekOf(new Date('2026-12-03T00:00:00Z'))).toBe('2026-W49');
    expect(isoWeekOf(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
  });
});
