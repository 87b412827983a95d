import type { Pool } from 'pg';
import { uuidv7 } from '@steward/contracts';
import { unitOfWork } from '@steward/event-store';
import type { Clock } from '../clock';
import { takeToken, type Rate } from './token-bucket';

export interface SourceLimits {
  rate?: Rate;
  concurrency?: number;
  /** How long a concurrency slot is held at most: a replica that dies mid-fetch frees it by expiry. */
  leaseMs: number;
}

export type Acquired = { granted: true; release: () => Promise<void> } | { granted: false; waitMs: number; reason: 'rate_limit' | 'concurrency' };

/** How often a step waiting for a concurrency slot looks again. */
const SLOT_POLL_MS = 200;

/**
 * Rate and concurrency limits per source that hold across collector
 * replicas: one row per source in `collector_source_limits`, locked FOR
 * UPDATE while a replica takes a token and a slot, so two replicas can
 * never both take the last one. Nothing is fetched without a grant.
 */
export class SourceLimiter {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly holder: string,
  ) {}

  async tryAcquire(source: string, limits: SourceLimits): Promise<Acquired> {
    if (limits.rate === undefined && limits.concurrency === undefined) return { granted: true, release: async () => undefined };
    const now = this.clock.now().getTime();
    const leaseId = uuidv7();
    const outcome = await unitOfWork(this.pool, async (tx): Promise<Acquired> => {
      const capacity = limits.rate?.count ?? 0;
      await tx.query('INSERT INTO collector_source_limits (source, tokens, refill_at) VALUES ($1, $2, $3) ON CONFLICT (source) DO NOTHING', [source, capacity, now]);
      const { rows } = await tx.query<{ tokens: number; refill_at: string }>('SELECT tokens, refill_at FROM collector_source_limits WHERE source = $1 FOR UPDATE', [source]);
      const row = rows[0]!;
      if (limits.concurrency !== undefined) {
        await tx.query('DELETE FROM collector_source_leases WHERE source = $1 AND expires_at <= $2', [source, new Date(now)]);
        const held = await tx.query<{ n: number; next: Date | null }>('SELECT count(*)::int AS n, min(expires_at) AS next FROM collector_source_leases WHERE source = $1', [source]);
        const { n, next } = held.rows[0]!;
        if (n >= limits.concurrency) {
          const untilExpiry = next === null ? SLOT_POLL_MS : next.getTime() - now;
          return { granted: false, waitMs: Math.max(1, Math.min(SLOT_POLL_MS, untilExpiry)), reason: 'concurrency' };
        }
      }
      if (limits.rate !== undefined) {
        const taken = takeToken({ tokens: Number(row.tokens), at: Number(row.refill_at) }, limits.rate, now);
        if (!taken.granted) return { granted: false, waitMs: taken.waitMs, reason: 'rate_limit' };
        await tx.query('UPDATE collector_source_limits SET tokens = $2, refill_at = $3, updated_at = now() WHERE source = $1', [source, taken.state.tokens, taken.state.at]);
      }
      if (limits.concurrency !== undefined) {
        await tx.query('INSERT INTO collector_source_leases (source, lease_id, holder, expires_at) VALUES ($1, $2, $3, $4)', [source, leaseId, this.holder, new Date(now + limits.leaseMs)]);
      }
      return { granted: true, release: async () => undefined };
    });
    if (!outcome.granted || limits.concurrency === undefined) return outcome;
    return {
      granted: true,
      release: async () => {
        await this.pool.query('DELETE FROM collector_source_leases WHERE source = $1 AND lease_id = $2', [source, leaseId]);
      },
    };
  }

  /**
   * Takes a grant, waiting in place up to `maxWaitMs` in total; beyond that
   * answers with the time still to wait, for the caller to hand the message
   * back (nak with that delay) instead of holding a handler slot.
   */
  async acquire(source: string, limits: SourceLimits, maxWaitMs: number, signal?: AbortSignal): Promise<Acquired> {
    const started = this.clock.now().getTime();
    for (;;) {
      const got = await this.tryAcquire(source, limits);
      if (got.granted) return got;
      const waited = this.clock.now().getTime() - started;
      if (waited + got.waitMs > maxWaitMs || signal?.aborted) return got;
      await this.clock.sleep(got.waitMs, signal);
    }
  }
}

