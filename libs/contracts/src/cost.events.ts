import { z } from 'zod';
import { defineEvent } from './registry';

// The cost tracker's events. Money is exact: integer micro-units of USD
// (1 USD = 1,000,000 micros) as decimal strings, never JSON numbers. Unit
// rates may be fractions of a micro-unit, so they are decimal strings too.
// Cost records themselves are projection rows derived from usage events
// (see docs/cost-tracker.md), not events: the usage events are the facts.

const when = z.iso.datetime({ offset: true });
const micros = z.string().regex(/^-?\d{1,30}$/, 'expected integer micro-units of USD as a string');
const decimal = z.string().regex(/^\d{1,24}(\.\d{1,18})?$/, 'expected a non-negative decimal string');
const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a calendar month YYYY-MM');
const scope = z.enum(['workflow', 'owner']);
const budgetId = z.string().min(1).max(200);

/** One unit price: usage whose resource name matches `match` (glob, `*` = any run of characters) costs `rateMicros` per unit from `from` on. */
export const UnitPriceSchema = z.object({
  match: z.string().min(1).max(300),
  unit: z.string().min(1).max(50).optional(),
  rateMicros: decimal,
  from: when,
  description: z.string().max(500).optional(),
});
export type UnitPrice = z.infer<typeof UnitPriceSchema>;

/** A budget threshold: a percentage of the budget or an absolute amount, on actual or forecast month-end spend. */
export const BudgetThresholdSchema = z
  .object({
    kind: z.enum(['actual', 'forecast']),
    percent: z.number().positive().max(1000).optional(),
    amountMicros: micros.optional(),
  })
  .refine((t) => (t.percent === undefined) !== (t.amountMicros === undefined), { message: 'give exactly one of percent and amountMicros' });
export type BudgetThreshold = z.infer<typeof BudgetThresholdSchema>;

export const PricesApplied = defineEvent({
  type: 'cost.prices_applied',
  version: 1,
  description: 'Unit prices were applied from a prices file; each takes effect at its `from` time, so earlier usage keeps the price it was costed at.',
  schema: z.object({
    prices: z.array(UnitPriceSchema).min(1).max(1000),
    file: z.string().max(500).optional(),
    appliedAt: when,
  }),
});

export const BudgetSet = defineEvent({
  type: 'cost.budget_set',
  version: 1,
  description: 'The monthly budget of a workflow (from its definition) or an owner (operator command) was set, with its thresholds.',
  schema: z.object({
    scope,
    id: budgetId,
    monthlyMicros: micros,
    thresholds: z.array(BudgetThresholdSchema).min(1).max(20),
    origin: z.enum(['workflow', 'operator']),
    setAt: when,
  }),
});

/**
 * A budget threshold changed state for one calendar month: ALARM when spend
 * (or the month-end forecast) reached it, OK when it no longer does (a raised
 * budget). Each state change is recorded once per threshold and month; the
 * alerter turns ALARM into an alert and OK into its resolution.
 */
export const BudgetThresholdCrossed = defineEvent({
  type: 'budget.threshold_crossed',
  version: 1,
  description: 'Actual or forecast monthly spend of a workflow or owner crossed a budget threshold (ALARM) or fell back below it (OK); once per threshold, state and month.',
  schema: z.object({
    scope,
    id: budgetId,
    period,
    threshold: z.object({
      kind: z.enum(['actual', 'forecast']),
      percent: z.number().positive().optional(),
      amountMicros: micros.optional(),
    }),
    state: z.enum(['ALARM', 'OK']),
    spentMicros: micros,
    forecastMicros: micros,
    budgetMicros: micros,
    owner: z.string().max(200).optional(),
    workflowId: z.string().max(200).optional(),
    at: when,
  }),
});

export const costEvents = [PricesApplied, BudgetSet, BudgetThresholdCrossed];
