// Rates over a window with a minimum-volume guard: a step's success rate
// (alert below a floor) and a source's failure rate (alert above a ceiling).
// Too few samples never alert, so one failed attempt of a rare step does not
// page anyone.

export interface RateInput {
  total: number;
  bad: number;
  minSamples: number;
  /** success: alert when the success ratio is below it; failure: alert when the failure ratio is above it. */
  threshold: number;
  kind: 'success' | 'failure';
}

export type RateVerdict = { status: 'insufficient_samples'; samples: number } | { status: 'ok' | 'breached'; rate: number };

export function judgeRate(input: RateInput): RateVerdict {
  if (input.bad < 0 || input.bad > input.total) throw new Error(`bad outcomes (${input.bad}) must be between 0 and the total (${input.total})`);
  if (input.total === 0 || input.total < input.minSamples) return { status: 'insufficient_samples', samples: input.total };
  if (input.kind === 'success') {
    const rate = (input.total - input.bad) / input.total;
    return { status: rate < input.threshold ? 'breached' : 'ok', rate };
  }
  const rate = input.bad / input.total;
  return { status: rate > input.threshold ? 'breached' : 'ok', rate };
}
