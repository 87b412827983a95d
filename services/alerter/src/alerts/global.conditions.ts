import type { Queryable } from '@steward/event-store';
import type { SignalRepository } from '../projection/signal.repository';
import type { RuleFile } from '../rules/rules.schema';
import { renderTemplate } from '../domain/template';
import type { Condition } from './alert.model';
import { builtinRunbook } from './workflow.conditions';

export const BUDGET_SCOPE = 'budget';
export const CHANNELS_SCOPE = 'channels';

const usd = (micros: bigint): string => {
  const cents = (micros + 5_000n) / 10_000n;
  return `$${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
};

/**
 * Budget alerts follow cost tracking's `budget.threshold_crossed` states: a
 * threshold in ALARM is an active condition, back to OK clears it. Crossing
 * the actual budget pages; a forecast or a partial threshold is a ticket.
 */
export async function budgetConditions(tx: Queryable, signals: SignalRepository, rules: RuleFile): Promise<Condition[]> {
  const declared = rules.rules.find((r) => r.signal === 'budget');
  return (await signals.budgets(tx)).map((b) => {
    const actualFull = b.threshold === 'actual:100' || (b.threshold.startsWith('actual') && b.spentMicros >= b.budgetMicros);
    const severity = declared?.severity ?? (actualFull ? 'page' : 'ticket');
    const alertname = declared?.name ?? 'budget';
    const identity = { alertname, budget_scope: b.scope, budget_id: b.id, period: b.period, threshold: b.threshold, ...(declared?.labels ?? {}) };
    const owner = b.owner ?? (b.scope === 'owner' ? b.id : undefined);
    const labels = { ...identity, severity, ...(owner !== undefined && { owner }), ...(b.workflowId !== null && { workflow: b.workflowId }) };
    const summary = `${b.scope} ${b.id} ${b.threshold.startsWith('forecast') ? 'is forecast to spend' : 'spent'} ${usd(b.threshold.startsWith('forecast') ? b.forecastMicros : b.spentMicros)} of its ${usd(b.budgetMicros)} budget for ${b.period} (threshold ${b.threshold})`;
    return {
      scope: BUDGET_SCOPE,
      rule: alertname,
      severity,
      identity,
      labels,
      active: b.state === 'ALARM',
      forMs: declared?.for ?? 0,
      keepFiringForMs: declared?.keepFiringFor ?? 0,
      summary: declared?.summary ? renderTemplate(declared.summary, { ...labels, value: Number(b.spentMicros) / 1e6, threshold: b.threshold }) : summary,
      runbook: declared?.runbook ?? builtinRunbook('budget'),
      ...(owner !== undefined && { owner }),
      ...(b.workflowId !== null && { workflowId: b.workflowId }),
      value: Number(b.spentMicros) / 1e6,
      impactStartedAt: b.at,
    };
  });
}

/** A receiver whose notifications keep failing raises its own alert; one success clears it. */
export async function channelConditions(tx: Queryable, signals: SignalRepository, threshold: number): Promise<Condition[]> {
  return (await signals.channels(tx)).map((c) => {
    const identity = { alertname: 'channel_failing', receiver: c.receiver };
    return {
      scope: CHANNELS_SCOPE,
      rule: 'channel_failing',
      severity: 'page',
      identity,
      labels: { ...identity, severity: 'page' },
      active: c.consecutiveFailures >= threshold,
      forMs: 0,
      keepFiringForMs: 0,
      summary: `notifications to receiver ${c.receiver} failed ${c.consecutiveFailures} times in a row${c.lastError ? `: ${c.lastError}` : ''}`,
      runbook: builtinRunbook('channel_failing'),
      value: c.consecutiveFailures,
      ...(c.lastError !== null && { lastError: c.lastError }),
      ...(c.failingSince !== null && { impactStartedAt: c.failingSince }),
    };
  });
}
