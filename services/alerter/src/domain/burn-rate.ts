// Multiwindow, multi-burn-rate SLO alerts (Google SRE workbook, ch. 5): a
// tier is active only when the error budget burns faster than its factor over
// BOTH its long window (enough budget is gone to matter) and its short window
// (it is still burning now, so the alert resolves soon after the fix).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface BurnTier {
  name: 'page_fast' | 'page_slow' | 'ticket';
  severity: 'page' | 'ticket';
  factor: number;
  longMs: number;
  shortMs: number;
}

/** Highest first: the first active tier wins and suppresses those below it. */
export const BURN_TIERS: readonly BurnTier[] = [
  { name: 'page_fast', severity: 'page', factor: 14.4, longMs: HOUR, shortMs: 5 * MINUTE },
  { name: 'page_slow', severity: 'page', factor: 6, longMs: 6 * HOUR, shortMs: 30 * MINUTE },
  { name: 'ticket', severity: 'ticket', factor: 1, longMs: 72 * HOUR, shortMs: 6 * HOUR },
];

/** Every window a tier looks at, for a caller that counts them in one query. */
export const BURN_WINDOWS_MS: readonly number[] = [...new Set(BURN_TIERS.flatMap((t) => [t.longMs, t.shortMs]))].sort((a, b) => a - b);

export interface WindowCounts {
  total: number;
  bad: number;
}

export interface BurnRateInput {
  /** The SLO's success-rate objective, e.g. 0.99. */
  objective: number;
  /** Runs a long window must hold before its tier may fire: one failure of three runs is no page. */
  minVolume: number;
  counts: (windowMs: number) => WindowCounts;
}

export interface BurnRateResult {
  tier: BurnTier | null;
  /** Burn rate per window length in ms (0 when the window is empty). */
  rates: Map<number, number>;
}

export function burnRate(counts: WindowCounts, objective: number): number {
  if (counts.total === 0) return 0;
  const budget = 1 - objective;
  const errorRate = counts.bad / counts.total;
  // A 100% objective has no budget: any failure burns "infinitely" fast.
  if (budget <= 0) return errorRate > 0 ? Number.POSITIVE_INFINITY : 0;
  return errorRate / budget;
}

export function evaluateBurnRate(input: BurnRateInput): BurnRateResult {
  const rates = new Map<number, number>();
  for (const w of BURN_WINDOWS_MS) rates.set(w, burnRate(input.counts(w), input.objective));
  for (const tier of BURN_TIERS) {
    if (input.counts(tier.longMs).total < input.minVolume) continue;
    if (rates.get(tier.longMs)! >= tier.factor && rates.get(tier.shortMs)! >= tier.factor) return { tier, rates };
  }
  return { tier: null, rates };
}
