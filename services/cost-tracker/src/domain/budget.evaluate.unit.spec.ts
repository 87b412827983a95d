import { DEFAULT_THRESHOLDS, evaluateThresholds, thresholdLevel, type ThresholdState } from './budget.evaluate';

const budget = 40_000_000n;
const run = (spent: bigint, forecast: bigint, states: Record<string, ThresholdState> = {}, budgetChanged = false) =>
  evaluateThresholds({ budgetMicros: budget, thresholds: DEFAULT_THRESHOLDS, spentMicros: spent, forecastMicros: forecast, states: new Map(Object.entries(states)), budgetChanged });

describe('budget thresholds', () => {
  it('trips nothing below the first level', () => {
    expect(run(19_999_999n, 39_999_999n)).toEqual([]);
  });

  it('reports the forecast crossing before any actual crossing of the same record', () => {
    expect(run(40_000_000n, 45_000_000n).map((t) => `${t.key}=${t.state}`)).toEqual(['forecast:100%=ALARM', 'actual:50%=ALARM', 'actual:80%=ALARM', 'actual:100%=ALARM']);
  });

  it('does not repeat a threshold already in ALARM', () => {
    expect(run(33_000_000n, 50_000_000n, { 'forecast:100%': 'ALARM', 'actual:50%': 'ALARM' }).map((t) => t.key)).toEqual(['actual:80%']);
  });

  it('keeps a forecast ALARM through run-rate swings, and clears it when the budget is raised', () => {
    expect(run(10_000_000n, 30_000_000n, { 'forecast:100%': 'ALARM' })).toEqual([]);
    expect(run(10_000_000n, 30_000_000n, { 'forecast:100%': 'ALARM' }, true).map((t) => `${t.key}=${t.state}`)).toEqual(['forecast:100%=OK']);
  });

  it('computes levels from percentages or absolute amounts', () => {
    expect(thresholdLevel({ kind: 'actual', percent: 12.5 }, budget)).toBe(5_000_000n);
    expect(thresholdLevel({ kind: 'actual', amountMicros: '25000000' }, budget)).toBe(25_000_000n);
  });
});
