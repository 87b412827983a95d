import { z } from 'zod';

// Response shapes of the cost reads (OpenAPI). Money is exact: `*Micros`
// are integer micro-USD as strings, `*Usd`/`usd` the same as decimal strings.

const micros = z.string().regex(/^-?\d+$/).meta({ description: 'integer micro-USD (1 USD = 1,000,000)' });
const usd = z.string().meta({ description: 'exact decimal USD' });

export const CostReportSchema = z.looseObject({
  by: z.enum(['workflow', 'owner', 'service', 'step']),
  since: z.string(),
  from: z.string(),
  to: z.string(),
  totalMicros: micros,
  totalUsd: usd,
  items: z.array(
    z.looseObject({
      key: z.string(),
      costMicros: micros,
      usd,
      runs: z.number().int(),
      records: z.number().int(),
      usdPerRun: usd.optional(),
      budgetMicros: micros.optional(),
      budgetUsed: z.number().optional().meta({ description: 'share of this month’s budget spent so far' }),
    }),
  ),
  performance: z
    .array(
      z.looseObject({
        workflow: z.string(),
        week: z.string().meta({ description: 'ISO week, e.g. 2026-W49' }),
        costMicros: micros,
        successRate: z.number().nullable(),
        usdPerSuccessfulRun: usd.nullable(),
        microsPerRow: z.string().nullable(),
        p50DurationMs: z.number().nullable(),
      }),
    )
    .optional()
    .meta({ description: 'with by=workflow: cost against performance per workflow and ISO week' }),
});

export const BudgetListSchema = z.looseObject({
  items: z.array(
    z.looseObject({
      scope: z.enum(['workflow', 'owner']),
      id: z.string(),
      period: z.string(),
      monthlyMicros: micros,
      spentMicros: micros,
      forecast: z.looseObject({ micros, usd, lowUsd: usd, highUsd: usd }).optional(),
      thresholds: z.array(z.looseObject({ kind: z.enum(['actual', 'forecast']), state: z.enum(['OK', 'ALARM']) })),
    }),
  ),
  next: z.string().optional(),
});

export const PriceListSchema = z.looseObject({
  items: z.array(z.looseObject({ match: z.string(), unit: z.string().optional(), rateMicros: z.string(), usd, effectiveFrom: z.string() })),
  next: z.string().optional(),
});
