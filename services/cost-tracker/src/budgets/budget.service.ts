import { BudgetSet, BudgetThresholdCrossed, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import { evaluateThresholds, type Threshold } from '../domain/budget.evaluate';
import { localDayOf, monthBounds, periodOf } from '../domain/month.period';
import { runRateForecast } from '../domain/spend.forecast';
import { BudgetRepository, type Budget, type Scope, type SpendTotal } from './budget.repository';

export interface BudgetPolicy {
  timeZone: string;
  /** Shortest elapsed part of the month the run-rate forecast divides by. */
  forecastMinElapsedMs: number;
}

export function budgetStreamId(scope: Scope, id: string): string {
  return `budget-${scope}-${id}`;
}

/**
 * Budgets and their thresholds. Runs inside the transaction that changed
 * spend or the budget, after the spend row of that budget and month was
 * locked, so each state change is decided and recorded exactly once.
 */
export class BudgetService {
  constructor(
    private readonly store: EventStore,
    private readonly budgets: BudgetRepository,
    private readonly policy: BudgetPolicy,
  ) {}

  /** Records a budget (from a workflow file or an operator) and re-checks this month's thresholds against it. */
  async set(tx: Queryable, budget: Omit<Budget, 'origin'> & { origin: 'workflow' | 'operator' }, now: Date, metadata: EventMetadata): Promise<StoredEvent[]> {
    const data = {
      scope: budget.scope,
      id: budget.id,
      monthlyMicros: budget.monthlyMicros.toString(),
      thresholds: budget.thresholds,
      origin: budget.origin,
      setAt: now.toISOString(),
    };
    const appended = await this.store.append(budgetStreamId(budget.scope, budget.id), [{ type: BudgetSet.type, data, metadata }], { expected: 'any', tx });
    await this.budgets.save(tx, budget, now);
    const period = periodOf(now, this.policy.timeZone);
    const [total] = await this.budgets.addSpend(tx, [{ scope: budget.scope, id: budget.id, period, day: localDayOf(now, this.policy.timeZone), micros: 0n }]);
    const crossed = await this.check(tx, total!, now, metadata, true);
    return [...appended.events, ...crossed];
  }

  /** After spend was added: thresholds of the touched budgets that changed state. */
  async afterSpend(tx: Queryable, totals: readonly SpendTotal[], now: Date, metadataOf: (scope: Scope, id: string) => EventMetadata): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const t of totals) out.push(...(await this.check(tx, t, now, metadataOf(t.scope, t.id), false)));
    return out;
  }

  private async check(tx: Queryable, total: SpendTotal, now: Date, metadata: EventMetadata, budgetChanged: boolean): Promise<StoredEvent[]> {
    const budget = await this.budgets.find(tx, total.scope, total.id);
    if (budget === undefined) return [];
    const bounds = monthBounds(total.period, this.policy.timeZone);
    const forecastMicros = runRateForecast({ spentMicros: total.spentMicros, monthStart: bounds.start, monthEnd: bounds.end, now, minElapsedMs: this.policy.forecastMinElapsedMs });
    const states = await this.budgets.states(tx, total.scope, total.id, total.period);
    const transitions = evaluateThresholds({ budgetMicros: budget.monthlyMicros, thresholds: budget.thresholds, spentMicros: total.spentMicros, forecastMicros, states, budgetChanged });
    if (transitions.length === 0) return [];
    const owner = total.scope === 'owner' ? total.id : await this.budgets.ownerOf(tx, total.id);
    const events = transitions.map((t) => ({
      type: BudgetThresholdCrossed.type,
      data: {
        scope: total.scope,
        id: total.id,
        period: total.period,
        threshold: thresholdOf(t.threshold),
        state: t.state,
        spentMicros: total.spentMicros.toString(),
        forecastMicros: forecastMicros.toString(),
        budgetMicros: budget.monthlyMicros.toString(),
        ...(owner !== undefined && { owner }),
        ...(total.scope === 'workflow' && { workflowId: total.id }),
        at: now.toISOString(),
      },
      metadata: { ...metadata, ...(total.scope === 'workflow' && { workflowId: total.id }) },
    }));
    for (const t of transitions) {
      await this.budgets.saveState(tx, { scope: total.scope, id: total.id, period: total.period, key: t.key, state: t.state, spentMicros: total.spentMicros, forecastMicros, at: now });
    }
    const appended = await this.store.append(budgetStreamId(total.scope, total.id), events, { expected: 'any', tx });
    return appended.events;
  }
}

function thresholdOf(t: Threshold): Threshold {
  return { kind: t.kind, ...(t.percent !== undefined && { percent: t.percent }), ...(t.amountMicros !== undefined && { amountMicros: t.amountMicros }) };
}
