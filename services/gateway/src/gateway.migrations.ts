import type { Pool } from 'pg';
import { unitOfWork } from '@steward/event-store';

// Any constant works as long as every gateway replica uses the same one.
const SCHEMA_LOCK = 0x4757_5459; // "GWTY"

/**
 * The gateway's own projection tables. Idempotent DDL under an advisory
 * lock: two replicas starting together would otherwise race on the catalog
 * (CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator).
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS gateway_tokens (
  id          text        PRIMARY KEY,
  name        text        NOT NULL,
  role        text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  salt        text        NOT NULL,
  hash        text        NOT NULL,
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  revoked_at  timestamptz
);
-- Names are the actor on every audit event: two live tokens with one name
-- would make the audit trail ambiguous.
CREATE UNIQUE INDEX IF NOT EXISTS gateway_tokens_active_name ON gateway_tokens (name) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS gateway_tokens_listing ON gateway_tokens (created_at, id);
-- Teams arrived after the first tokens: older rows have none.
ALTER TABLE gateway_tokens ADD COLUMN IF NOT EXISTS teams text[] NOT NULL DEFAULT '{}';
`;

export async function ensureGatewaySchema(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    const { rows } = await tx.query<{ events: string | null }>(`SELECT to_regclass('events')::text AS events`);
    if (!rows[0]?.events) {
      throw new Error('the event store schema is missing: run `pnpm db:migrate` or start the gateway with MIGRATE_ON_START=true');
    }
    await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await tx.query(SCHEMA);
  });
}
