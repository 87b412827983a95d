import { z } from 'zod';
import { decimalOfNumber, formatDecimal, shift, usdToMicros } from '../domain/money';
import type { Threshold } from '../domain/budget.evaluate';

/** `apply_prices`: the prices file as text (the gateway's YamlBody). */
export const ApplyPricesPayload = z.strictObject({
  yaml: z.string().min(1, 'must not be empty').max(1_000_000),
  file: z.string().max(500).optional(),
});

const ThresholdSpec = z.union([
  z.number().positive().max(10).meta({ description: 'a fraction of the budget on actual spend: 0.8 = 80 %' }),
  z
    .strictObject({
      kind: z.enum(['actual', 'forecast']),
      percent: z.number().positive().max(1000).optional(),
      amountUsd: z.number().positive().max(1e9).optional(),
    })
    .refine((t) => (t.percent === undefined) !== (t.amountUsd === undefined), { message: 'give exactly one of percent and amountUsd' }),
]);

/** `set_budget`: the gateway's BudgetParams + BudgetBody, plus thresholds as objects for forecast and absolute levels. */
export const SetBudgetPayload = z.strictObject({
  scope: z.enum(['workflow', 'owner']),
  id: z.string().min(1).max(200),
  monthlyUsd: z.number().positive().max(1e9),
  thresholds: z.array(ThresholdSpec).min(1).max(20).optional(),
});
export type SetBudgetPayload = z.output<typeof SetBudgetPayload>;

/**
 * Threshold specs to thresholds: bare fractions are actual-spend percentages;
 * when none of the given ones is on the forecast, the 100 % forecast is kept.
 */
export function thresholdsOf(specs: SetBudgetPayload['thresholds'], defaults: readonly Threshold[]): Threshold[] {
  if (specs === undefined) return [...defaults];
  const out: Threshold[] = specs.map((s) => {
    if (typeof s === 'number') return { kind: 'actual', percent: Number(formatDecimal(shift(decimalOfNumber(s), -2))) };
    return s.percent !== undefined ? { kind: s.kind, percent: s.percent } : { kind: s.kind, amountMicros: usdToMicros(s.amountUsd!).toString() };
  });
  if (!out.some((t) => t.kind === 'forecast')) out.unshift({ kind: 'forecast', percent: 100 });
  return out;
}
