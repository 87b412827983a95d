import type { RowCounts } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { QuarantinedRow, TransformedRow } from '../transforms/transform.apply';

/** A row to write, with where it came from. */
export interface RowWrite extends TransformedRow {
  captureId: string;
  capturedAt: string;
}

export interface QuarantineWrite extends QuarantinedRow {
  captureId: string;
}

export interface Target {
  dataset: string;
  version: number;
  transform: string;
}

export interface Written {
  keys: Set<string>;
  /** Of those, keys new to the version. */
  inserted: number;
}

export interface Application {
  dataset: string;
  datasetVersion: number;
  counts: RowCounts | null;
  maxChangePct: number | null;
  error: { code: string; message: string } | null;
}

/**
 * Writes datasets. Rows are upserted by (dataset, version, key) and only
 * rewritten when their content hash moved and the capture is not older than
 * the one that wrote them, so a redelivery, a replay over the same captures
 * or two captures arriving out of order leave the same table.
 */
export class DatasetRepository {
  /** Upserts rows; returns the keys written and how many of them are new. */
  async upsertRows(tx: Queryable, target: Target, unordered: RowWrite[], now: Date): Promise<Written> {
    if (unordered.length === 0) return { keys: new Set(), inserted: 0 };
    // Row locks in key order: two batches writing overlapping keys (replay beside live) queue instead of deadlocking.
    const rows = [...unordered].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // The row documents travel as one JSON array zipped with the other columns (ROWS FROM):
    // their canonical JSON is spliced in as is, where a text[] would escape every quote of every row.
    const { rows: out } = await tx.query<{ key: string; inserted: boolean }>({
      name: 'transformer_upsert_rows',
      text: `INSERT INTO transformer_rows (dataset, version, key, data, hash, capture_id, transform, captured_at, updated_at)
             SELECT $1, $2, r.key, r.data, r.hash, r.capture_id::uuid, $3, r.captured_at::timestamptz, $4
               FROM ROWS FROM (unnest($5::text[]), jsonb_array_elements($6::jsonb), unnest($7::text[]), unnest($8::text[]), unnest($9::text[])) AS r(key, data, hash, capture_id, captured_at)
             ON CONFLICT (dataset, version, key) DO UPDATE
               SET data = excluded.data, hash = excluded.hash, capture_id = excluded.capture_id, transform = excluded.transform,
                   captured_at = excluded.captured_at, updated_at = excluded.updated_at
               WHERE transformer_rows.hash <> excluded.hash AND transformer_rows.captured_at <= excluded.captured_at
             RETURNING key, (xmax = 0) AS inserted`,
      values: [
        target.dataset,
        target.version,
        target.transform,
        now,
        rows.map((r) => r.key),
        `[${rows.map((r) => r.json).join(',')}]`,
        rows.map((r) => r.hash),
        rows.map((r) => r.captureId),
        rows.map((r) => r.capturedAt),
      ],
    });
    return { keys: new Set(out.map((r) => r.key)), inserted: out.filter((r) => r.inserted).length };
  }

  /** What an upsert would write, without writing (dry-run replays). */
  async wouldWrite(tx: Queryable, target: Target, rows: RowWrite[]): Promise<Written> {
    if (rows.length === 0) return { keys: new Set(), inserted: 0 };
    const { rows: existing } = await tx.query<{ key: string; hash: string; captured_at: Date }>({
      name: 'transformer_existing_rows',
      text: 'SELECT key, hash, captured_at FROM transformer_rows WHERE dataset = $1 AND version = $2 AND key = ANY($3::text[])',
      values: [target.dataset, target.version, rows.map((r) => r.key)],
    });
    const byKey = new Map(existing.map((e) => [e.key, e]));
    const keys = rows.filter((r) => {
      const e = byKey.get(r.key);
      return e === undefined || (e.hash !== r.hash && e.captured_at.getTime() <= Date.parse(r.capturedAt));
    });
    return { keys: new Set(keys.map((r) => r.key)), inserted: keys.filter((r) => !byKey.has(r.key)).length };
  }

  /** The current numeric value of `field` for these keys: what maxChangePct compares against. */
  async previousValues(tx: Queryable, target: Target, keys: string[], field: string): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const { rows } = await tx.query<{ key: string; value: string | null }>({
      name: 'transformer_previous_values',
      text: 'SELECT key, data->>$4 AS value FROM transformer_rows WHERE dataset = $1 AND version = $2 AND key = ANY($3::text[])',
      values: [target.dataset, target.version, keys, field],
    });
    const out = new Map<string, number>();
    for (const r of rows) if (r.value !== null && Number.isFinite(Number(r.value))) out.set(r.key, Number(r.value));
    return out;
  }

  /** Keeps refused rows with their reasons; returns how many were new (a capture applied again adds none). */
  async quarantine(tx: Queryable, target: Target, entries: QuarantineWrite[], replayId: string | undefined, now: Date): Promise<number> {
    if (entries.length === 0) return 0;
    const { rowCount } = await tx.query({
      name: 'transformer_quarantine_rows',
      text: `INSERT INTO transformer_quarantine (dataset, version, capture_id, transform, row_index, reason, issues, raw, replay_id, quarantined_at)
             SELECT $1, $2, q.capture_id::uuid, $3, q.row_index, q.reason, q.issues::jsonb, q.raw::jsonb, $4, $5
               FROM unnest($6::text[], $7::int[], $8::text[], $9::text[], $10::text[]) AS q(capture_id, row_index, reason, issues, raw)
             ON CONFLICT DO NOTHING`,
      values: [
        target.dataset,
        target.version,
        target.transform,
        replayId ?? null,
        now,
        entries.map((q) => q.captureId),
        entries.map((q) => q.rowIndex),
        entries.map((q) => q.reason),
        entries.map((q) => JSON.stringify(q.issues)),
        entries.map((q) => JSON.stringify(q.raw ?? null)),
      ],
    });
    return rowCount ?? 0;
  }

  /**
   * Keeps the version's totals and, for live work, makes the first version
   * of a new dataset its current one; freshness moves only with the current version.
   */
  async recordCompletion(tx: Queryable, target: Target, delta: { inserted: number; quarantined: number; captures: number }, options: { live: boolean; replayId?: string }, now: Date): Promise<void> {
    // One statement (one round trip): the version's totals, then the dataset row.
    const version = `INSERT INTO transformer_dataset_versions AS v (dataset, version, transform, rows, quarantined, captures, replay_id, created_at, last_completed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (dataset, version) DO UPDATE
               SET rows = v.rows + excluded.rows, quarantined = v.quarantined + excluded.quarantined,
                   captures = v.captures + excluded.captures, last_completed_at = excluded.last_completed_at`;
    const values = [target.dataset, target.version, target.transform, delta.inserted, delta.quarantined, delta.captures, options.replayId ?? null, now];
    if (options.live) {
      await tx.query({
        name: 'transformer_version_completed_live',
        text: `WITH version AS (${version})
               INSERT INTO transformer_datasets AS d (dataset, current_version, created_at, last_completed_at) VALUES ($1, $2, $8, $8)
               ON CONFLICT (dataset) DO UPDATE
                 SET current_version = COALESCE(d.current_version, excluded.current_version),
                     last_completed_at = CASE WHEN COALESCE(d.current_version, excluded.current_version) = $2 THEN excluded.last_completed_at ELSE d.last_completed_at END`,
        values,
      });
    } else {
      await tx.query({
        name: 'transformer_version_completed_known',
        text: `WITH version AS (${version})
               INSERT INTO transformer_datasets (dataset, created_at) VALUES ($1, $8) ON CONFLICT (dataset) DO NOTHING`,
        values,
      });
    }
  }

  async currentVersion(tx: Queryable, dataset: string): Promise<number | null> {
    const { rows } = await tx.query<{ current_version: number | null }>('SELECT current_version FROM transformer_datasets WHERE dataset = $1', [dataset]);
    return rows[0]?.current_version ?? null;
  }

  /** Locks the dataset row (creating it) so two promotions of one dataset serialise. */
  async lockDataset(tx: Queryable, dataset: string): Promise<{ currentVersion: number | null; exists: boolean }> {
    const { rows } = await tx.query<{ current_version: number | null }>('SELECT current_version FROM transformer_datasets WHERE dataset = $1 FOR UPDATE', [dataset]);
    return rows.length === 0 ? { currentVersion: null, exists: false } : { currentVersion: rows[0]!.current_version, exists: true };
  }

  async versionExists(tx: Queryable, dataset: string, version: number): Promise<boolean> {
    const { rowCount } = await tx.query('SELECT 1 FROM transformer_dataset_versions WHERE dataset = $1 AND version = $2', [dataset, version]);
    return rowCount === 1;
  }

  async promote(tx: Queryable, dataset: string, version: number, actor: string, now: Date): Promise<void> {
    await tx.query('UPDATE transformer_datasets SET current_version = $2, promoted_by = $3, promoted_at = $4, last_completed_at = (SELECT last_completed_at FROM transformer_dataset_versions WHERE dataset = $1 AND version = $2) WHERE dataset = $1', [dataset, version, actor, now]);
  }

  /**
   * Records (capture, transform) with what it came to; returns the captures
   * this caller recorded first. A concurrent recorder of the same capture
   * blocks on the key until the first commits (then it gets nothing back
   * and reports the first one's record) or rolls back (then it records).
   */
  async recordApplications(tx: Queryable, target: Target, outcomes: Array<{ captureId: string; counts?: RowCounts; maxChangePct?: number; error?: { code: string; message: string } }>, replayId: string | undefined, now: Date): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    const { rows } = await tx.query<{ capture_id: string }>({
      name: 'transformer_record_applications',
      text: `INSERT INTO transformer_applications (capture_id, transform, dataset, dataset_version, replay_id, counts, max_change_pct, error, applied_at)
             SELECT o.capture_id, $1, $2, $3, $4, o.counts::jsonb, o.pct, o.error::jsonb, $5
               FROM unnest($6::uuid[], $7::text[], $8::float8[], $9::text[]) AS o(capture_id, counts, pct, error)
             ON CONFLICT DO NOTHING RETURNING capture_id`,
      values: [
        target.transform,
        target.dataset,
        target.version,
        replayId ?? null,
        now,
        outcomes.map((o) => o.captureId),
        outcomes.map((o) => (o.counts ? JSON.stringify(o.counts) : null)),
        outcomes.map((o) => o.maxChangePct ?? null),
        outcomes.map((o) => (o.error ? JSON.stringify(o.error) : null)),
      ],
    });
    return new Set(rows.map((r) => r.capture_id));
  }

  /** Counts of earlier applications (a capture seen again through another path or replay). */
  async findApplications(tx: Queryable, transform: string, captureIds: string[]): Promise<Map<string, Application>> {
    if (captureIds.length === 0) return new Map();
    const { rows } = await tx.query<{ capture_id: string; dataset: string; dataset_version: number; counts: RowCounts | null; max_change_pct: number | null; error: Application['error'] }>({
      name: 'transformer_find_applications',
      text: 'SELECT capture_id, dataset, dataset_version, counts, max_change_pct, error FROM transformer_applications WHERE transform = $1 AND capture_id = ANY($2::uuid[])',
      values: [transform, captureIds],
    });
    return new Map(rows.map((r) => [r.capture_id, { dataset: r.dataset, datasetVersion: r.dataset_version, counts: r.counts, maxChangePct: r.max_change_pct, error: r.error }]));
  }
}
