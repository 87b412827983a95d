import { ForbiddenError } from '@steward/contracts';

/** Who is deciding an approval, as the gateway authenticated them. */
export interface Approver {
  name: string;
  /** Teams of the caller's token; an approvers list names people or teams. */
  teams?: readonly string[];
  role?: 'viewer' | 'operator' | 'admin';
}

/**
 * Why the approver may decide: named in the step's list, a member of a
 * listed team, or an admin overriding the list (break-glass, recorded on the
 * event so the audit trail shows it).
 */
export type ApprovalAuthority = { via: 'name' } | { via: 'team'; team: string } | { via: 'admin' };

/**
 * The step's `approvers` decide who may approve or reject it. Anyone else is
 * refused with the list in the message, so the operator knows whom to ask.
 */
export function approvalAuthority(approvers: readonly string[], who: Approver, context: { runId: string; stepId: string }): ApprovalAuthority {
  if (approvers.includes(who.name)) return { via: 'name' };
  const team = (who.teams ?? []).find((t) => approvers.includes(t));
  if (team !== undefined) return { via: 'team', team };
  if (who.role === 'admin') return { via: 'admin' };
  const teams = who.teams !== undefined && who.teams.length > 0 ? ` (teams ${who.teams.join(', ')})` : ' (no teams)';
  throw new ForbiddenError(`"${who.name}"${teams} may not decide step ${context.stepId} of run ${context.runId}: its approvers are ${approvers.join(', ')}`, {
    ...context,
    approvers: [...approvers],
  });
}
