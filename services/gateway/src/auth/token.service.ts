import type { Pool } from 'pg';
import {
  ConcurrencyError,
  GatewayBootstrapped,
  IllegalStateError,
  NotFoundError,
  UnauthorisedError,
  ValidationError,
  type EventMetadata,
  type StoredEvent,
  type TokenRole,
} from '@steward/contracts';
import { EventStore, handleCommand, unitOfWork } from '@steward/event-store';
import type { Principal } from './roles.decorator';
import { tokenDecider, tokenStream, type TokenCommand } from './token.decide';
import { fingerprintOf, generateToken, tokenIdOf } from './token.format';
import { hashToken, verifyTokenHash } from './token.hasher';
import type { TokenRow } from './token.projection';
import type { TokenListCursor, TokenRepository } from './token.repository';

export const BOOTSTRAP_STREAM = 'gateway-bootstrap';
export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';
const SYSTEM_ACTOR = 'steward-gateway';
const MAX_CACHED = 10_000;

export interface TokenView {
  id: string;
  name: string;
  role: TokenRole;
  teams: string[];
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

export type BootstrapResult = { status: 'exists' } | { status: 'created'; tokenId: string; source: 'env' | 'generated'; token?: string };

interface Cached {
  principal: Principal;
  expiresAt: number;
}

function view(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    teams: row.teams,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

function encodeCursor(c: TokenListCursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
}

function decodeCursor(text: string): TokenListCursor {
  const [at, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw new ValidationError('query.cursor: not a cursor this listing handed out', [
      { path: 'query.cursor', message: 'not a cursor this listing handed out' },
    ]);
  }
  return { createdAt, id };
}

/**
 * API tokens: created and revoked as events on `token-<id>` streams, with
 * the `gateway_tokens` projection written in the same transaction, and
 * verified against that table with a short in-memory cache (scrypt is slow).
 */
export class TokenService {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly tokens: TokenRepository,
    private readonly cacheTtlMs: number,
  ) {}

  async create(input: { name: string; role: TokenRole; teams?: string[] }, actor: Principal, metadata: EventMetadata = {}): Promise<TokenView & { token: string }> {
    const { id, token } = generateToken();
    const { salt, hash } = await hashToken(token);
    const teams = input.teams === undefined ? undefined : [...new Set(input.teams)];
    await this.execute({ kind: 'create', tokenId: id, name: input.name, role: input.role, ...(teams !== undefined && { teams }), salt, hash, actor: actor.name }, { ...metadata, actor: actor.name });
    const row = await this.tokens.findById(id);
    return { ...view(row!), token };
  }

  async revoke(id: string, actor: Principal, reason: string | undefined, metadata: EventMetadata = {}): Promise<TokenView> {
    await this.execute({ kind: 'revoke', tokenId: id, actor: actor.name, ...(reason !== undefined && { reason }) }, { ...metadata, actor: actor.name });
    this.invalidate(id);
    return view((await this.tokens.findById(id))!);
  }

  async get(id: string): Promise<TokenView> {
    const row = await this.tokens.findById(id);
    if (!row) throw new NotFoundError('token', id);
    return view(row);
  }

  async list(query: { cursor?: string; limit: number; revoked: boolean }): Promise<{ items: TokenView[]; next?: string }> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.tokens.listPage({ after, limit: query.limit, includeRevoked: query.revoked });
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return rows.length > query.limit && last ? { items: items.map(view), next: encodeCursor(last) } : { items: items.map(view) };
  }

  /** Who a bearer token belongs to; UnauthorisedError for an unknown, revoked or wrong one. */
  async authenticate(bearer: string, now: number = Date.now()): Promise<Principal> {
    const key = fingerprintOf(bearer);
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > now) return cached.principal;
    if (cached) this.cache.delete(key);
    const row = await this.tokens.findById(tokenIdOf(bearer));
    if (!row || row.revokedAt !== null || !(await verifyTokenHash(bearer, row))) throw new UnauthorisedError();
    const principal: Principal = { tokenId: row.id, name: row.name, role: row.role, teams: row.teams };
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { principal, expiresAt: now + this.cacheTtlMs });
    return principal;
  }

  /** Forgets cached verifications of a token: this replica refuses it from the next request on. */
  invalidate(tokenId: string): void {
    for (const [key, c] of this.cache) if (c.principal.tokenId === tokenId) this.cache.delete(key);
  }

  /**
   * Creates the first admin token unless the gateway was bootstrapped
   * before. The `gateway-bootstrap` append (expected no_stream) comes first
   * in the transaction: of two replicas starting at once, the second blocks
   * on it, then fails with a ConcurrencyError and rolls its token back.
   */
  async bootstrap(fromEnv: string | undefined): Promise<BootstrapResult> {
    if ((await this.store.streamVersion(BOOTSTRAP_STREAM)) !== null) return { status: 'exists' };
    const source = fromEnv === undefined ? 'generated' : 'env';
    const token = fromEnv ?? generateToken().token;
    const tokenId = tokenIdOf(token);
    const { salt, hash } = await hashToken(token);
    const metadata: EventMetadata = { actor: SYSTEM_ACTOR, correlationId: `bootstrap-${tokenId}` };
    try {
      await unitOfWork(this.pool, async (tx) => {
        await this.store.append(BOOTSTRAP_STREAM, [{ type: GatewayBootstrapped.type, data: { tokenId, source }, metadata }], {
          expected: 'no_stream',
          tx,
        });
        const command: TokenCommand = { kind: 'create', tokenId, name: BOOTSTRAP_TOKEN_NAME, role: 'admin', salt, hash, actor: SYSTEM_ACTOR, bootstrap: true };
        const { events } = await handleCommand(this.store, tokenStream(tokenId), tokenDecider, command, { tx, metadata, maxRetries: 0 });
        await this.tokens.apply(events, tx);
      });
    } catch (err) {
      if (err instanceof ConcurrencyError && err.streamId === BOOTSTRAP_STREAM) return { status: 'exists' };
      throw err;
    }
    return source === 'generated' ? { status: 'created', tokenId, source, token } : { status: 'created', tokenId, source };
  }

  private async execute(command: TokenCommand, metadata: EventMetadata): Promise<StoredEvent[]> {
    try {
      return await unitOfWork(this.pool, async (tx) => {
        const { events } = await handleCommand(this.store, tokenStream(command.tokenId), tokenDecider, command, { tx, metadata });
        await this.tokens.apply(events, tx);
        return events;
      });
    } catch (err) {
      if ((err as { code?: string; constraint?: string }).constraint === 'gateway_tokens_active_name' && command.kind === 'create') {
        throw new IllegalStateError(`a token named "${command.name}" already exists; revoke it first or pick another name`, {
          name: command.name,
        });
      }
      throw err;
    }
  }
}
