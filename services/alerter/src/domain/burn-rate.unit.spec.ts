import { BURN_TIERS, burnRate, evaluateBurnRate, type WindowCounts } from './burn-rate';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Counts per window length; windows not given are empty. */
const counts = (byWindow: Record<number, WindowCounts>) => (w: number) => byWindow[w] ?? { total: 0, bad: 0 };

describe('error-budget burn rate', () => {
  it('is the error rate divided by the budget', () => {
    expect(burnRate({ total: 100, bad: 1 }, 0.99)).toBeCloseTo(1);
    expect(burnRate({ total: 100, bad: 50 }, 0.99)).toBeCloseTo(50);
    expect(burnRate({ total: 0, bad: 0 }, 0.99)).toBe(0);
    expect(burnRate({ total: 10, bad: 1 }, 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('declares the tiers of the SRE workbook', () => {
    expect(BURN_TIERS.map((t) => [t.severity, t.factor, t.longMs / MINUTE, t.shortMs / MINUTE])).toEqual([
      ['page', 14.4, 60, 5],
      ['page', 6, 360, 30],
      ['ticket', 1, 4320, 360],
    ]);
  });

  it('pages at 14.4x only when both the 1h and the 5m window burn that fast', () => {
    const fast = { total: 100, bad: 15 }; // 15x
    expect(evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: counts({ [HOUR]: fast, [5 * MINUTE]: fast }) }).tier?.name).toBe('page_fast');
    // The long window burned, but it stopped: the short window is clean.
    expect(evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: counts({ [HOUR]: fast, [5 * MINUTE]: { total: 10, bad: 0 } }) }).tier).toBeNull();
  });

  it('pages at 6x over 6h and 30m', () => {
    const six = { total: 100, bad: 7 };
    const r = evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: counts({ [HOUR]: { total: 20, bad: 1 }, [6 * HOUR]: six, [30 * MINUTE]: six }) });
    expect(r.tier?.name).toBe('page_slow');
  });

  it('opens a ticket at 1x over 3d and 6h', () => {
    const one = { total: 1000, bad: 12 };
    const r = evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: counts({ [72 * HOUR]: one, [6 * HOUR]: { total: 100, bad: 2 } }) });
    expect(r.tier?.name).toBe('ticket');
  });

  it('reports only the highest active tier, so a page suppresses the ticket', () => {
    const all = { total: 100, bad: 50 };
    const r = evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: () => all });
    expect(r.tier?.name).toBe('page_fast');
  });

  it('needs the minimum volume in the long window before a tier may fire', () => {
    const few = { total: 3, bad: 3 };
    expect(evaluateBurnRate({ objective: 0.99, minVolume: 10, counts: () => few }).tier).toBeNull();
    expect(evaluateBurnRate({ objective: 0.99, minVolume: 3, counts: () => few }).tier?.name).toBe('page_fast');
  });
});
