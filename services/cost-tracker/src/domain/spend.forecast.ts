// Month-end spend forecasts. The threshold check uses an exact integer
// run-rate projection; reports add an uncertainty band from the variance of
// daily spend. Forecasts are estimates: the band is computed in floating
// point and rounded to micros, recorded money never is.

const DAY_MS = 86_400_000;

export interface RunRateInput {
  spentMicros: bigint;
  monthStart: Date;
  monthEnd: Date;
  now: Date;
  /** Elapsed time is taken as at least this, so one early record does not project a fortune. */
  minElapsedMs: number;
}

/** spent + spent x remaining / elapsed (floored); never below what was spent. */
export function runRateForecast(input: RunRateInput): bigint {
  const start = input.monthStart.getTime();
  const end = input.monthEnd.getTime();
  const now = Math.min(Math.max(input.now.getTime(), start), end);
  const remaining = BigInt(end - now);
  if (remaining === 0n || input.spentMicros <= 0n) return input.spentMicros;
  const elapsed = BigInt(Math.max(now - start, input.minElapsedMs, 1));
  return input.spentMicros + (input.spentMicros * remaining) / elapsed;
}

export interface ForecastBand {
  spentMicros: bigint;
  forecastMicros: bigint;
  lowMicros: bigint;
  highMicros: bigint;
  /** Daily run rate the projection uses. */
  dailyRateMicros: bigint;
  daysElapsed: number;
  daysInMonth: number;
}

/**
 * Linear run rate with a ~95 % band: each remaining day is taken as an
 * independent draw from the elapsed days' spend, so the remainder's standard
 * deviation is sigma_day x sqrt(days remaining).
 *
 * @param dailyMicros spend of each elapsed day of the month, the current (partial) day last
 * @param dayFraction how much of the current day has elapsed (0..1]
 */
export function forecastWithBand(dailyMicros: readonly bigint[], daysInMonth: number, dayFraction: number): ForecastBand {
  const spent = dailyMicros.reduce((a, b) => a + b, 0n);
  const complete = dailyMicros.slice(0, -1).map(Number);
  const daysElapsed = Math.max(dailyMicros.length - 1 + Math.min(Math.max(dayFraction, 0), 1), 1 / 24);
  const remainingDays = Math.max(daysInMonth - daysElapsed, 0);
  const rate = Number(spent) / daysElapsed;
  const mean = complete.length > 0 ? complete.reduce((a, b) => a + b, 0) / complete.length : rate;
  const variance = complete.length > 1 ? complete.reduce((a, b) => a + (b - mean) ** 2, 0) / (complete.length - 1) : 0;
  const spread = 1.96 * Math.sqrt(variance) * Math.sqrt(remainingDays);
  const point = Number(spent) + rate * remainingDays;
  return {
    spentMicros: spent,
    forecastMicros: BigInt(Math.round(point)),
    lowMicros: BigInt(Math.round(Math.max(Number(spent), point - spread))),
    highMicros: BigInt(Math.round(point + spread)),
    dailyRateMicros: BigInt(Math.round(rate)),
    daysElapsed,
    daysInMonth,
  };
}

export { DAY_MS };
