import { z } from 'zod';
import { defineEvent, type EventDefinition } from '@steward/contracts';

export const BUDGET_THRESHOLD_CROSSED = 'budget.threshold_crossed';

/** What the alerter reads of cost tracking's budget event, whatever else it carries. */
export const BudgetCrossing = z.looseObject({
  scope: z.enum(['workflow', 'owner']),
  id: z.string().min(1).max(200),
  period: z.string().regex(/^\d{4}-\d{2}$/),
  threshold: z.looseObject({ kind: z.enum(['actual', 'forecast']), percent: z.number().optional(), amountMicros: z.string().optional() }),
  state: z.enum(['ALARM', 'OK']),
  spentMicros: z.string().regex(/^-?\d+$/),
  forecastMicros: z.string().regex(/^-?\d+$/),
  budgetMicros: z.string().regex(/^-?\d+$/),
  owner: z.string().optional(),
  workflowId: z.string().optional(),
  at: z.iso.datetime({ offset: true }),
});

/**
 * Stands in for cost tracking's contract until libs/contracts defines it, so
 * the transport does not dead-letter the event as an unknown type. Loose on
 * purpose: the real definition replaces it as soon as it is registered.
 */
const Fallback = defineEvent({
  type: BUDGET_THRESHOLD_CROSSED,
  version: 1,
  description: 'A budget threshold changed state (cost tracking); the alerter\'s stand-in definition.',
  schema: z.looseObject({}),
});

export function withBudgetEvent(defs: readonly EventDefinition[]): EventDefinition[] {
  return defs.some((d) => d.type === BUDGET_THRESHOLD_CROSSED) ? [...defs] : [...defs, Fallback];
}

/** `actual:80`, `forecast:100`, `actual:amount:5000000`: one key per configured threshold. */
export function thresholdKey(t: z.infer<typeof BudgetCrossing>['threshold']): string {
  if (t.percent !== undefined) return `${t.kind}:${t.percent}`;
  if (t.amountMicros !== undefined) return `${t.kind}:amount:${t.amountMicros}`;
  return t.kind;
}
