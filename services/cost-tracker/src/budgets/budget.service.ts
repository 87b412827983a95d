import { BudgetSet, BudgetThresholdCrossed, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import { evaluateThresholds, type Threshold } from '../domain/budget.evaluate';
import { localDayOf, monthBounds, periodOf } from '../domain/month.period';
import { runRateForecast } from '../domain/spend.forecast';
import { BudgetRepository, spendKey, type Budget, type Scope, type SpendDelta, type SpendTotal, type ThresholdInput } from './budget.repository';

export interface BudgetPolicy {
  timeZone: string;
  /** Shortest elapsed part of the month the run-rate forecast divides by. */
  forecastMinElapsedMs: number;
}

export type NewBudget = Omit<Budget, 'origin'> & { origin: 'workflow' | 'operator' };

/** A budget to record in this transaction, with its thresholds to check for this month. */
export interface BudgetChange {
  budget: NewBudget;
  period: string;
  /** Of cost.budget_set and of the threshold events the check causes. */
  metadata: EventMetadata;
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

  /**
   * Records a budget (from a workflow file or an operator) and re-checks this
   * month's thresholds against it. Locks in the order every batch does:
   * the month's spend row, then the budget's stream.
   */
  async set(tx: Queryable, budget: NewBudget, now: Date, metadata: EventMetadata): Promise<StoredEvent[]> {
    const change = this.change(budget, now, metadata);
    const [total] = await this.budgets.addSpend(tx, [this.changeDelta(change, now)]);
    const recorded = await this.record(tx, change, now);
    const crossed = await this.check(tx, total!, now, metadata, true);
    return [...recorded, ...crossed];
  }

  /**
   * A budget to record with a batch's spend (UsageHandler): its zero delta
   * (`changeDelta`) joins the batch's counter update, so the month row is
   * locked in key order with the others', and `afterSpend` records it
   * (cost.budget_set, then the row) and checks it as a changed budget.
   */
  change(budget: NewBudget, now: Date, metadata: EventMetadata): BudgetChange {
    return { budget, period: periodOf(now, this.policy.timeZone), metadata };
  }

  /** A zero spend delta for this month of a changed budget: it locks the month row and returns its total for the check. */
  changeDelta(change: BudgetChange, now: Date): SpendDelta {
    return { scope: change.budget.scope, id: change.budget.id, period: change.period, day: localDayOf(now, this.policy.timeZone), micros: 0n };
  }

  /**
   * After spend was added (the touched month rows are locked): records the
   * budgets `changed` in this transaction, then decides the thresholds of
   * every touched budget, reading all of them in one query. Totals go in key
   * order, so appends to budget streams lock them in one order too. A total
   * of a changed budget is checked as after a budget change, which may also
   * clear a forecast alarm.
   */
  async afterSpend(tx: Queryable, totals: readonly SpendTotal[], now: Date, metadataOf: (t: SpendTotal) => EventMetadata, changed: readonly BudgetChange[] = []): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    for (const c of changed) out.push(...(await this.record(tx, c, now)));
    const inputs = await this.budgets.thresholdInputs(tx, totals);
    const changedKeys = new Set(changed.map((c) => spendKey({ scope: c.budget.scope, id: c.budget.id, period: c.period })));
    for (const t of [...totals].sort((a, b) => (spendKey(a) < spendKey(b) ? -1 : spendKey(a) > spendKey(b) ? 1 : 0))) {
      const input = inputs.get(spendKey(t));
      if (input !== undefined) out.push(...(await this.decide(tx, t, input, now, metadataOf(t), changedKeys.has(spendKey(t)))));
    }
    return out;
  }

  private async record(tx: Queryable, change: BudgetChange, now: Date): Promise<StoredEvent[]> {
    const { budget, metadata } = change;
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
    return appended.events;
  }

  private async check(tx: Queryable, total: SpendTotal, now: Date, metadata: EventMetadata, budgetChanged: boolean): Promise<StoredEvent[]> {
    const input = (await this.budgets.thresholdInputs(tx, [total])).get(spendKey(total));
    return input === undefined ? [] : this.decide(tx, total, input, now, metadata, budgetChanged);
  }

  private async decide(tx: Queryable, total: SpendTotal, input: ThresholdInput, now: Date, metadata: EventMetadata, budgetChanged: boolean): Promise<StoredEvent[]> {
    const { budget, states, owner } = input;
    const bounds = monthBounds(total.period, this.policy.timeZone);
    const forecastMicros = runRateForecast({ spentMicros: total.spentMicros, monthStart: bounds.start, monthEnd: bounds.end, now, minElapsedMs: this.policy.forecastMinElapsedMs });
    const transitions = evaluateThresholds({ budgetMicros: budget.monthlyMicros, thresholds: budget.thresholds, spentMicros: total.spentMicros, forecastMicros, states, budgetChanged });
    if (transitions.length === 0) return [];
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
