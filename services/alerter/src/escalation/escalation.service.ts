import { z } from 'zod';
import type { EventData, EventMetadata, TimerFired } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { AlertEngine } from '../alerts/alert.engine';
import type { AlertRow } from '../alerts/alert.model';
import type { NotificationPlanner } from '../notify/notification.planner';
import type { AlertRepository } from '../projection/alert.repository';
import type { EscalationPolicy, RuleFile } from '../rules/rules.schema';
import { delayBefore, escalationTimerId, nextPosition, policyFor, type EscalationPosition } from './escalation.plan';

export const TIMER_OWNER = 'alerter';

export const EscalationTimerPayload = z.object({
  kind: z.literal('escalation'),
  alertId: z.string().min(1),
  policy: z.string().min(1),
  step: z.number().int().nonnegative(),
  loop: z.number().int().nonnegative(),
});

/**
 * Escalation policies per owner and severity. Each step is an
 * alert.escalated event plus notifications to its receivers; the wait
 * before the next step is a durable scheduler timer (timer.requested in the
 * alert's stream), so a restart loses none. A timer that finds the alert
 * acknowledged or resolved does nothing: that is how ack stops escalation.
 */
export class EscalationService {
  constructor(
    private readonly engine: () => AlertEngine,
    private readonly alerts: AlertRepository,
    private readonly planner: NotificationPlanner,
  ) {}

  async start(tx: Queryable, a: AlertRow, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<void> {
    const policy = policyFor(rules.escalations, a.owner, a.severity);
    if (policy === undefined) return;
    const first = { step: 0, loop: 0 };
    if (policy.steps[0]!.after === 0) await this.run(tx, a, policy, first, rules, now, metadata);
    else await this.arm(tx, a, policy, first, now, metadata);
  }

  async timerFired(tx: Queryable, timer: EventData<typeof TimerFired>, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<'stepped' | 'stopped' | 'ignored'> {
    const parsed = EscalationTimerPayload.safeParse(timer.payload);
    if (!parsed.success) return 'ignored';
    const p = parsed.data;
    const a = await this.alerts.findById(tx, p.alertId, true);
    if (a === undefined || a.state !== 'firing') return 'stopped';
    const policy = rules.escalations.find((e) => e.name === p.policy);
    if (policy === undefined || p.step >= policy.steps.length) return 'stopped';
    await this.run(tx, a, policy, { step: p.step, loop: p.loop }, rules, now, metadata);
    return 'stepped';
  }

  private async run(tx: Queryable, a: AlertRow, policy: EscalationPolicy, at: EscalationPosition, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<void> {
    const step = policy.steps[at.step]!;
    await this.engine().appendTo(
      tx,
      a.alertId,
      [{ type: 'alert.escalated', data: { alertId: a.alertId, policy: policy.name, step: at.step, loop: at.loop, receivers: step.receivers, ...(a.owner !== null && { owner: a.owner }), at: now.toISOString() } }],
      metadata,
    );
    await this.planner.escalate(tx, a, rules, step.receivers, { policy: policy.name, ...at }, now);
    const next = nextPosition(policy, at);
    if (next !== null) await this.arm(tx, a, policy, next, now, metadata);
  }

  private async arm(tx: Queryable, a: AlertRow, policy: EscalationPolicy, to: EscalationPosition, now: Date, metadata: EventMetadata): Promise<void> {
    const dueAt = new Date(now.getTime() + delayBefore(policy, to));
    await this.engine().appendTo(
      tx,
      a.alertId,
      [
        {
          type: 'timer.requested',
          data: {
            timerId: escalationTimerId(a.alertId, to),
            owner: TIMER_OWNER,
            dueAt: dueAt.toISOString(),
            payload: { kind: 'escalation', alertId: a.alertId, policy: policy.name, step: to.step, loop: to.loop },
            correlation: { correlationId: a.alertId, ...(metadata.causationId !== undefined && { causationId: metadata.causationId }), ...(metadata.traceparent !== undefined && { traceparent: metadata.traceparent }) },
          },
        },
      ],
      metadata,
    );
  }
}
