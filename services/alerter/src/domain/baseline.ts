// The seeds' performance rule: alert when a run's duration deviates more
// than 20% from the workflow's baseline. The baseline is the median of
// earlier successful runs (robust to the odd outlier); with fewer samples
// than the guard there is no baseline and no alert.

export interface BaselineInput {
  /** Durations of earlier successful runs, excluding the one judged. */
  samples: readonly number[];
  latestMs: number;
  minSamples: number;
  /** 0.2 = 20%. */
  maxDeviation: number;
}

export type BaselineVerdict =
  | { status: 'insufficient_samples'; samples: number }
  | { status: 'within' | 'deviates'; baselineMs: number; deviation: number; direction: 'slower' | 'faster' };

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function judgeDuration(input: BaselineInput): BaselineVerdict {
  if (input.samples.length < input.minSamples || input.samples.length === 0) return { status: 'insufficient_samples', samples: input.samples.length };
  const baselineMs = median(input.samples);
  const deviation = baselineMs === 0 ? (input.latestMs === 0 ? 0 : Number.POSITIVE_INFINITY) : (input.latestMs - baselineMs) / baselineMs;
  return {
    status: Math.abs(deviation) > input.maxDeviation ? 'deviates' : 'within',
    baselineMs,
    deviation,
    direction: deviation >= 0 ? 'slower' : 'faster',
  };
}
