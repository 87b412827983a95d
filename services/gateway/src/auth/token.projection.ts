import { TokenCreated, TokenRevoked, type EventData, type StoredEvent, type TokenRole } from '@steward/contracts';

/** One row of `gateway_tokens`: the projection of a token stream. */
export interface TokenRow {
  id: string;
  name: string;
  role: TokenRole;
  teams: string[];
  salt: string;
  hash: string;
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
}

export const TOKEN_EVENT_TYPES = [TokenCreated.type, TokenRevoked.type];

/**
 * How one event changes the token table. The repository applies the same
 * rule in SQL inside the appending transaction; the verify checker folds the
 * log with this function and compares.
 */
export function projectToken(rows: Map<string, TokenRow>, event: StoredEvent): void {
  if (event.type === TokenCreated.type) {
    const d = event.data as EventData<typeof TokenCreated>;
    rows.set(d.tokenId, {
      id: d.tokenId,
      name: d.name,
      role: d.role,
      teams: d.teams ?? [],
      salt: d.salt,
      hash: d.hash,
      createdAt: event.occurredAt,
      createdBy: d.createdBy,
      revokedAt: null,
    });
  } else if (event.type === TokenRevoked.type) {
    const d = event.data as EventData<typeof TokenRevoked>;
    const row = rows.get(d.tokenId);
    if (row && row.revokedAt === null) row.revokedAt = event.occurredAt;
  }
}
