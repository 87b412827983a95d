import { IllegalStateError, NotFoundError, TokenCreated, TokenRevoked, type EventData, type NewEvent, type StoredEvent, type TokenRole } from '@steward/contracts';
import type { Decider } from '@steward/event-store';

export type TokenCommand =
  | {
      kind: 'create';
      tokenId: string;
      name: string;
      role: TokenRole;
      teams?: string[];
      salt: string;
      hash: string;
      actor: string;
      bootstrap?: boolean;
    }
  | { kind: 'revoke'; tokenId: string; actor: string; reason?: string };

export type TokenState = { status: 'none' } | { status: 'active' | 'revoked'; name: string; role: TokenRole };

type TokenEvent = EventData<typeof TokenCreated> | EventData<typeof TokenRevoked>;

export const tokenStream = (tokenId: string): string => `token-${tokenId}`;

/** One token per stream: created once, revoked at most once. */
export const tokenDecider: Decider<TokenState, TokenCommand, TokenEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state: TokenState, event: StoredEvent<TokenEvent>): TokenState {
    switch (event.type) {
      case TokenCreated.type: {
        const data = event.data as EventData<typeof TokenCreated>;
        return { status: 'active', name: data.name, role: data.role };
      }
      case TokenRevoked.type:
        return state.status === 'none' ? state : { ...state, status: 'revoked' };
      default:
        return state;
    }
  },

  decide(command: TokenCommand, state: TokenState): NewEvent<TokenEvent>[] {
    switch (command.kind) {
      case 'create': {
        if (state.status !== 'none') throw new IllegalStateError(`token ${command.tokenId} already exists`, { tokenId: command.tokenId });
        const data: EventData<typeof TokenCreated> = {
          tokenId: command.tokenId,
          name: command.name,
          role: command.role,
          ...(command.teams !== undefined && command.teams.length > 0 && { teams: command.teams }),
          salt: command.salt,
          hash: command.hash,
          createdBy: command.actor,
          ...(command.bootstrap && { bootstrap: true }),
        };
        return [{ type: TokenCreated.type, data }];
      }
      case 'revoke': {
        if (state.status === 'none') throw new NotFoundError('token', command.tokenId);
        if (state.status === 'revoked') {
          throw new IllegalStateError(`token ${command.tokenId} is already revoked`, { tokenId: command.tokenId });
        }
        const data: EventData<typeof TokenRevoked> = {
          tokenId: command.tokenId,
          revokedBy: command.actor,
          ...(command.reason !== undefined && { reason: command.reason }),
        };
        return [{ type: TokenRevoked.type, data }];
      }
      default: {
        const never: never = command;
        throw new Error(`unknown token command ${JSON.stringify(never)}`);
      }
    }
  },
};
