import { SetMetadata } from '@nestjs/common';
import { TOKEN_ROLES, type TokenRole } from '@steward/contracts';

export const ROLES_KEY = 'steward:required-role';

/** The weakest role that may call the route; stronger roles may too (viewer < operator < admin). */
export const Roles = (role: TokenRole): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, role);

export function hasRole(actual: TokenRole, required: TokenRole): boolean {
  return TOKEN_ROLES.indexOf(actual) >= TOKEN_ROLES.indexOf(required);
}

/** Who is calling: attached to the request by the auth guard. */
export interface Principal {
  tokenId: string;
  /** The token's name: the actor recorded on every event the call causes. */
  name: string;
  role: TokenRole;
  /** The token's teams, sent with approvals so the executor can check a step's approvers. */
  teams: string[];
}
