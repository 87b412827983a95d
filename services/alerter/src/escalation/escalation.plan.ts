import type { EscalationPolicy } from '../rules/rules.schema';

// Where an escalation goes next, as a pure function of the policy: steps in
// order, then again from the first step while loops remain (`repeat`),
// then it stops. Acknowledging or resolving the alert stops it earlier.

export interface EscalationPosition {
  step: number;
  loop: number;
}

export function nextPosition(policy: Pick<EscalationPolicy, 'steps' | 'repeat'>, at: EscalationPosition): EscalationPosition | null {
  if (at.step + 1 < policy.steps.length) return { step: at.step + 1, loop: at.loop };
  if (at.loop < policy.repeat) return { step: 0, loop: at.loop + 1 };
  return null;
}

/**
 * Delay before running `to`: its own `after`, measured from the previous
 * step. A loop back to a first step with no delay waits as long as the last
 * step did, so a policy that repeats never pages twice in one instant.
 */
export function delayBefore(policy: Pick<EscalationPolicy, 'steps'>, to: EscalationPosition): number {
  const after = policy.steps[to.step]!.after;
  if (to.loop > 0 && to.step === 0 && after === 0) return policy.steps.at(-1)!.after || 60_000;
  return after;
}

export function policyFor<P extends Pick<EscalationPolicy, 'owner' | 'severity'>>(policies: readonly P[], owner: string | null, severity: string): P | undefined {
  return policies.find((p) => p.owner === owner && p.severity === severity);
}

export const escalationTimerId = (alertId: string, to: EscalationPosition): string => `alert-escalation/${alertId}/${to.loop}/${to.step}`;
