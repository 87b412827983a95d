import type { Pool } from 'pg';
import { TokenCreated, TokenRevoked, type EventData, type StoredEvent, type TokenRole } from '@steward/contracts';
import { unitOfWork, type Queryable } from '@steward/event-store';
import { TOKEN_EVENT_TYPES, type TokenRow } from './token.projection';

interface Row {
  id: string;
  name: string;
  role: TokenRole;
  teams: string[];
  salt: string;
  hash: string;
  created_at: Date;
  created_by: string;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, role, teams, salt, hash, created_at, created_by, revoked_at';

function toTokenRow(r: Row): TokenRow {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    teams: r.teams,
    salt: r.salt,
    hash: r.hash,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at,
  };
}

export interface TokenListCursor {
  createdAt: Date;
  id: string;
}

/** `gateway_tokens`: the projection of the token streams, written in the appending transaction. */
export class TokenRepository {
  constructor(private readonly pool: Pool) {}

  async findById(id: string): Promise<TokenRow | undefined> {
    const { rows } = await this.pool.query<Row>({
      name: 'gateway_token_by_id',
      text: `SELECT ${COLUMNS} FROM gateway_tokens WHERE id = $1`,
      values: [id],
    });
    return rows[0] && toTokenRow(rows[0]);
  }

  /** Oldest first; limit + 1 rows so the caller knows whether another page exists. */
  async listPage(options: { after?: TokenListCursor; limit: number; includeRevoked: boolean }): Promise<TokenRow[]> {
    const values: unknown[] = [options.limit + 1, options.includeRevoked];
    let after = '';
    if (options.after) {
      values.push(options.after.createdAt, options.after.id);
      after = 'AND (created_at, id) > ($3::timestamptz, $4::text)';
    }
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM gateway_tokens WHERE ($2 OR revoked_at IS NULL) ${after} ORDER BY created_at, id LIMIT $1`,
      values,
    );
    return rows.map(toTokenRow);
  }

  /** Applies appended token events to the table, inside the transaction that appended them. */
  async apply(events: StoredEvent[], tx: Queryable): Promise<void> {
    for (const e of events) {
      if (e.type === TokenCreated.type) {
        const d = e.data as EventData<typeof TokenCreated>;
        await tx.query(
          `INSERT INTO gateway_tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)`,
          [d.tokenId, d.name, d.role, d.teams ?? [], d.salt, d.hash, e.occurredAt, d.createdBy],
        );
      } else if (e.type === TokenRevoked.type) {
        const d = e.data as EventData<typeof TokenRevoked>;
        await tx.query('UPDATE gateway_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [d.tokenId, e.occurredAt]);
      }
    }
  }

  /**
   * The table and the token events as of ONE snapshot, so a token created
   * while verify runs cannot look like a mismatch. Reads every committed
   * event (not only commit-safe ones): the table sees every committed row.
   */
  async snapshot(): Promise<{ rows: TokenRow[]; events: StoredEvent[] }> {
    return unitOfWork(this.pool, async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const table = await tx.query<Row>(`SELECT ${COLUMNS} FROM gateway_tokens ORDER BY id`);
      const log = await tx.query<{ type: string; data: unknown; occurred_at: Date; global_position: string; transaction_id: string }>(
        `SELECT type, data, occurred_at, global_position, transaction_id FROM events
          WHERE type = ANY($1::text[]) ORDER BY transaction_id, global_position`,
        [TOKEN_EVENT_TYPES],
      );
      return {
        rows: table.rows.map(toTokenRow),
        events: log.rows.map(
          (r): StoredEvent => ({
            type: r.type,
            data: r.data,
            occurredAt: r.occurred_at,
            globalPosition: BigInt(r.global_position),
            transactionId: BigInt(r.transaction_id),
            streamId: '',
            streamVersion: 0,
            eventId: '',
            schemaVersion: 1,
            metadata: {},
          }),
        ),
      };
    });
  }
}
