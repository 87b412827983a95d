import { forecastWithBand, runRateForecast } from './spend.forecast';

const start = new Date('2026-12-01T00:00:00Z');
const end = new Date('2027-01-01T00:00:00Z');

describe('spend forecast', () => {
  it('projects the run rate to month end, never below what was spent', () => {
    // 10 of 31 days gone, 10 USD spent -> 31 USD
    expect(runRateForecast({ spentMicros: 10_000_000n, monthStart: start, monthEnd: end, now: new Date('2026-12-11T00:00:00Z'), minElapsedMs: 0 })).toBe(31_000_000n);
    expect(runRateForecast({ spentMicros: 10_000_000n, monthStart: start, monthEnd: end, now: new Date('2027-01-05T00:00:00Z'), minElapsedMs: 0 })).toBe(10_000_000n);
  });

  it('damps the first hours of a month with a minimum elapsed time', () => {
    const early = runRateForecast({ spentMicros: 1_000_000n, monthStart: start, monthEnd: end, now: new Date('2026-12-01T01:00:00Z'), minElapsedMs: 86_400_000 });
    expect(early).toBe(1_000_000n + (1_000_000n * BigInt(end.getTime() - Date.parse('2026-12-01T01:00:00Z'))) / 86_400_000n);
  });

  it('widens the band with the variance of daily spend', () => {
    const steady = forecastWithBand([1_000_000n, 1_000_000n, 1_000_000n, 500_000n], 30, 0.5);
    expect(steady.forecastMicros).toBe(30_000_000n);
    expect(steady.highMicros).toBe(steady.forecastMicros);
    const noisy = forecastWithBand([0n, 2_000_000n, 0n, 2_000_000n, 500_000n], 30, 0.5);
    expect(noisy.highMicros).toBeGreaterThan(noisy.forecastMicros);
    expect(noisy.lowMicros).toBeLessThan(noisy.forecastMicros);
    expect(noisy.lowMicros).toBeGreaterThanOrEqual(noisy.spentMicros);
  });
});
