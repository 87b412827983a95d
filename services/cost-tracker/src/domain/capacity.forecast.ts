// Capacity planning from run history: worker-seconds per task queue by hour
// of the week, forecast for next week as the average of the same hour over
// the past weeks (a seasonal-naive model that follows a weekly pattern), then
// compared with configured worker capacity.

export const HOURS_PER_WEEK = 168;
const HOUR_MS = 3_600_000;
const WEEK_MS = HOURS_PER_WEEK * HOUR_MS;

export interface HourlyUsage {
  /** Start of the UTC hour. */
  hour: Date;
  workerSeconds: number;
}

/** Hour of the week, 0 = Monday 00:00 UTC. */
export function hourOfWeek(at: Date): number {
  return ((at.getUTCDay() + 6) % 7) * 24 + at.getUTCHours();
}

/**
 * Next week's worker-seconds for each hour of the week, averaged over the
 * `weeks` full weeks before `now`. Hours with no history count as zero.
 */
export function forecastWeek(history: readonly HourlyUsage[], now: Date, weeks: number): number[] {
  const since = now.getTime() - weeks * WEEK_MS;
  const sums = new Array<number>(HOURS_PER_WEEK).fill(0);
  for (const h of history) {
    const t = h.hour.getTime();
    if (t < since || t >= now.getTime()) continue;
    sums[hourOfWeek(h.hour)]! += h.workerSeconds;
  }
  return sums.map((s) => s / Math.max(weeks, 1));
}

export interface CapacityPlan {
  queue: string;
  /** Worker-seconds used in the last week. */
  lastWeekWorkerSeconds: number;
  forecastWorkerSeconds: number;
  peakHourWorkerSeconds: number;
  configuredWorkers: number | null;
  /** Share of configured capacity used last week / forecast next week; null without a configured capacity. */
  currentUtilisation: number | null;
  forecastUtilisation: number | null;
  recommendedReplicas: number;
}

/**
 * Replicas so the busiest forecast hour runs at `targetUtilisation` of its
 * workers (at least one when there is any demand).
 */
export function planCapacity(queue: string, hourly: readonly number[], lastWeekWorkerSeconds: number, configuredWorkers: number | undefined, targetUtilisation: number): CapacityPlan {
  const forecast = hourly.reduce((a, b) => a + b, 0);
  const peak = hourly.reduce((a, b) => Math.max(a, b), 0);
  const weekCapacity = configuredWorkers === undefined ? undefined : configuredWorkers * (WEEK_MS / 1000);
  return {
    queue,
    lastWeekWorkerSeconds,
    forecastWorkerSeconds: forecast,
    peakHourWorkerSeconds: peak,
    configuredWorkers: configuredWorkers ?? null,
    currentUtilisation: weekCapacity ? lastWeekWorkerSeconds / weekCapacity : null,
    forecastUtilisation: weekCapacity ? forecast / weekCapacity : null,
    recommendedReplicas: peak > 0 ? Math.max(1, Math.ceil(peak / (3600 * targetUtilisation))) : 0,
  };
}

/** `default=4,gpu=1` -> Map { default: 4, gpu: 1 }; throws naming the bad entry. */
export function parseCapacity(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([a-z][a-z0-9_-]*)=(\d+)$/.exec(raw);
    if (!m) throw new Error(`"${raw}" is not <queue>=<workers>`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export { HOUR_MS, WEEK_MS };
