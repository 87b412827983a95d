import type { Queryable } from '@steward/event-store';
import type { UnitPrice } from '@steward/contracts';
import { PriceBook, type PriceEntry } from '../domain/price.match';

interface PriceRow {
  match: string;
  unit: string;
  from_at: Date;
  rate_micros: string;
}

/**
 * Unit prices (cost_prices) with an in-process cache. Any replica may apply
 * prices, so each ingest transaction reads one version counter (with the
 * rest of its context, IngestContextRepository) and reloads only when it
 * moved. `apply` bumps the counter in the transaction that changes prices,
 * so a batch that starts after the apply committed sees the new version.
 */
export class PriceRepository {
  private cached: { version: string; book: PriceBook } | undefined;

  /** The prices of `version` (read in this transaction): the cached book, or the list read again when the version moved. */
  async atVersion(tx: Queryable, version: string): Promise<PriceBook> {
    if (this.cached?.version === version) return this.cached.book;
    const book = new PriceBook(await this.list(tx));
    this.cached = { version, book };
    return book;
  }

  async list(tx: Queryable): Promise<PriceEntry[]> {
    const { rows } = await tx.query<PriceRow>('SELECT match, unit, from_at, rate_micros::text FROM cost_prices ORDER BY match, unit, from_at');
    return rows.map((r) => ({ match: r.match, ...(r.unit !== '' && { unit: r.unit }), rateMicros: r.rate_micros, from: r.from_at }));
  }

  /** Upserts the prices (same match, unit and start: the new rate wins) and bumps the version. */
  async apply(tx: Queryable, prices: readonly UnitPrice[], appliedAt: Date): Promise<void> {
    await tx.query(
      `INSERT INTO cost_prices (match, unit, from_at, rate_micros, description, applied_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[], $5::text[], $6::timestamptz[])
       ON CONFLICT (match, unit, from_at) DO UPDATE SET rate_micros = EXCLUDED.rate_micros, description = EXCLUDED.description, applied_at = EXCLUDED.applied_at`,
      [
        prices.map((p) => p.match),
        prices.map((p) => p.unit ?? ''),
        prices.map((p) => p.from),
        prices.map((p) => p.rateMicros),
        prices.map((p) => p.description ?? null),
        prices.map(() => appliedAt),
      ],
    );
    await tx.query(`UPDATE cost_meta SET value = value + 1 WHERE key = 'prices_version'`);
  }
}
