import { decimalOfNumber, multiply, roundHalfEven, shift } from './money';

export type ThresholdKind = 'actual' | 'forecast';
export type ThresholdState = 'ALARM' | 'OK';

export interface Threshold {
  kind: ThresholdKind;
  percent?: number;
  amountMicros?: string;
}

/** Defaults: actual spend at 50 %, 80 % and 100 %, and the month-end forecast at 100 %. */
export const DEFAULT_THRESHOLDS: Threshold[] = [
  { kind: 'forecast', percent: 100 },
  { kind: 'actual', percent: 50 },
  { kind: 'actual', percent: 80 },
  { kind: 'actual', percent: 100 },
];

/** Stable name of a threshold within a budget: `actual:80%`, `forecast:100%`, `actual:$25000000`. */
export function thresholdKey(t: Threshold): string {
  return t.percent !== undefined ? `${t.kind}:${t.percent}%` : `${t.kind}:$${t.amountMicros}`;
}

/** The spend (micros) at which a threshold trips. */
export function thresholdLevel(t: Threshold, budgetMicros: bigint): bigint {
  if (t.amountMicros !== undefined) return BigInt(t.amountMicros);
  return roundHalfEven(shift(multiply({ coef: budgetMicros, scale: 0 }, decimalOfNumber(t.percent ?? 100)), 2));
}

export interface EvaluateInput {
  budgetMicros: bigint;
  thresholds: readonly Threshold[];
  spentMicros: bigint;
  forecastMicros: bigint;
  /** Current state per threshold key this period (absent: OK). */
  states: ReadonlyMap<string, ThresholdState>;
  /**
   * Whether a forecast ALARM may go back to OK. A run-rate forecast swings
   * with every record; it only recovers when the budget itself changed, so
   * each forecast crossing is reported once a month rather than flapping.
   */
  budgetChanged: boolean;
}

export interface Transition {
  key: string;
  threshold: Threshold;
  state: ThresholdState;
  levelMicros: bigint;
}

/**
 * The thresholds whose state changes, forecast ones first (a projection
 * reaches a level no later than actual spend, so its warning comes first even
 * when one record crosses both), then by level.
 */
export function evaluateThresholds(input: EvaluateInput): Transition[] {
  const ordered = [...input.thresholds]
    .map((threshold) => ({ threshold, key: thresholdKey(threshold), levelMicros: thresholdLevel(threshold, input.budgetMicros) }))
    .sort((a, b) => (a.threshold.kind !== b.threshold.kind ? (a.threshold.kind === 'forecast' ? -1 : 1) : a.levelMicros < b.levelMicros ? -1 : a.levelMicros > b.levelMicros ? 1 : 0));
  const out: Transition[] = [];
  for (const t of ordered) {
    const value = t.threshold.kind === 'forecast' ? input.forecastMicros : input.spentMicros;
    const reached = t.levelMicros > 0n ? value >= t.levelMicros : value > 0n;
    const current = input.states.get(t.key) ?? 'OK';
    if (reached && current === 'OK') out.push({ ...t, state: 'ALARM' });
    else if (!reached && current === 'ALARM' && (t.threshold.kind === 'actual' || input.budgetChanged)) out.push({ ...t, state: 'OK' });
  }
  return out;
}
