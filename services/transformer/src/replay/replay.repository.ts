import {
  DATASET_DIFF_SQL,
  datasetDiffOf,
  datasetDiffParams,
  TRANSFORMER_REPLAY_COLUMNS,
  transformerReplayOf,
  type DatasetDiffRow,
  type DatasetDiffSummary,
  type RowCounts,
  type TransformerReplay,
  type TransformerReplayRow,
} from '@steward/contracts';
import type { Queryable } from '@steward/event-store';

/** A replay as this service keeps it (libs/contracts: the gateway reads the same table). */
export type ReplayRow = TransformerReplay;

export type DiffSummary = DatasetDiffSummary;


/** Per-replay progress of the transformer's side of a backfill. */
export class ReplayRepository {
  /** Serialises the handlers of one replay's control events across replicas (started vs published). */
  async lock(tx: Queryable, replayId: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`transformer-replay:${replayId}`]);
  }

  async start(
    tx: Queryable,
    r: { replayId: string; transform: string; dataset?: string; datasetVersion?: number; baseVersion: number | null; dryRun: boolean; total: number; error?: { code: string; message: string } },
    now: Date,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO transformer_replays (replay_id, transform, dataset, dataset_version, base_version, dry_run, total, error, started_at, published)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, EXISTS (SELECT 1 FROM transformer_replay_published WHERE replay_id = $1)) ON CONFLICT (replay_id) DO NOTHING`,
      [r.replayId, r.transform, r.dataset ?? null, r.datasetVersion ?? null, r.baseVersion, r.dryRun, r.total, r.error ? JSON.stringify(r.error) : null, now],
    );
  }

  async startForeign(tx: Queryable, replayId: string, consumer: string, now: Date): Promise<void> {
    await tx.query('INSERT INTO transformer_foreign_replays (replay_id, consumer, started_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [replayId, consumer, now]);
  }

  /** Of these replays, the ones meant for another service. */
  async foreign(tx: Queryable, replayIds: string[]): Promise<Set<string>> {
    const { rows } = await tx.query<{ replay_id: string }>({ name: 'transformer_foreign_replays', text: 'SELECT replay_id FROM transformer_foreign_replays WHERE replay_id = ANY($1::text[])', values: [replayIds] });
    return new Set(rows.map((r) => r.replay_id));
  }

  async find(tx: Queryable, replayIds: string[]): Promise<Map<string, ReplayRow>> {
    const { rows } = await tx.query<TransformerReplayRow>({ name: 'transformer_find_replays', text: `SELECT ${TRANSFORMER_REPLAY_COLUMNS} FROM transformer_replays WHERE replay_id = ANY($1::text[])`, values: [replayIds] });
    return new Map(rows.map((r) => [r.replay_id, transformerReplayOf(r)]));
  }

  /**
   * A replay's state and, only when it is known here, the inbox claim of a
   * batch's messages (`consumer`, message ids) in one round trip: the ids
   * returned are the ones this transaction recorded first.
   */
  async claim(tx: Queryable, replayId: string, consumer: string, messageIds: string[]): Promise<{ replay: ReplayRow | undefined; claimed: Set<string> }> {
    const { rows } = await tx.query<Partial<TransformerReplayRow> & { claimed: string[] }>({
      name: 'transformer_replay_claim',
      text: `WITH r AS (SELECT ${TRANSFORMER_REPLAY_COLUMNS} FROM transformer_replays WHERE replay_id = $1),
                  c AS (INSERT INTO inbox (consumer, message_id) SELECT $2, m FROM unnest($3::text[]) AS m WHERE EXISTS (SELECT 1 FROM r)
                        ON CONFLICT DO NOTHING RETURNING message_id)
             SELECT r.*, ARRAY(SELECT message_id FROM c) AS claimed FROM (SELECT 1) AS one LEFT JOIN r ON true`,
      values: [replayId, consumer, messageIds],
    });
    const row = rows[0]!;
    return { replay: row.replay_id == null ? undefined : transformerReplayOf(row as TransformerReplayRow), claimed: new Set(row.claimed) };
  }

  /** Adds a batch's work; the row lock serialises concurrent batches so completion is decided once. */
  async progress(tx: Queryable, replayId: string, delta: { processed: number; counts: RowCounts; failed: number }): Promise<ReplayRow> {
    const { rows } = await tx.query<TransformerReplayRow>({
      name: 'transformer_replay_progress',
      text: `UPDATE transformer_replays SET processed = processed + $2, rows = rows + $3, upserted = upserted + $4, unchanged = unchanged + $5,
               quarantined = quarantined + $6, failed = failed + $7
             WHERE replay_id = $1 RETURNING ${TRANSFORMER_REPLAY_COLUMNS}`,
      values: [replayId, delta.processed, delta.counts.rows, delta.counts.upserted, delta.counts.unchanged, delta.counts.quarantined, delta.failed],
    });
    return transformerReplayOf(rows[0]!);
  }

  async markPublished(tx: Queryable, replayId: string, now: Date): Promise<ReplayRow | undefined> {
    await tx.query('INSERT INTO transformer_replay_published (replay_id, published_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [replayId, now]);
    const { rows } = await tx.query<TransformerReplayRow>(`UPDATE transformer_replays SET published = true WHERE replay_id = $1 RETURNING ${TRANSFORMER_REPLAY_COLUMNS}`, [replayId]);
    return rows[0] && transformerReplayOf(rows[0]);
  }

  async markFailed(tx: Queryable, replayId: string, error: { code: string; message: string }): Promise<void> {
    await tx.query('UPDATE transformer_replays SET error = $2 WHERE replay_id = $1 AND completed_at IS NULL', [replayId, JSON.stringify(error)]);
  }

  async complete(tx: Queryable, replayId: string, diff: DiffSummary | null, now: Date): Promise<boolean> {
    const { rowCount } = await tx.query('UPDATE transformer_replays SET completed_at = $2, diff = $3 WHERE replay_id = $1 AND completed_at IS NULL', [replayId, now, diff ? JSON.stringify(diff) : null]);
    return rowCount === 1;
  }

  /** Added, changed, removed and unchanged keys between two versions of a dataset (libs/contracts DATASET_DIFF_SQL). */
  async diff(tx: Queryable, dataset: string, version: number, baseVersion: number | null): Promise<DiffSummary> {
    const { rows } = await tx.query<DatasetDiffRow>({ name: 'transformer_replay_diff', text: DATASET_DIFF_SQL, values: datasetDiffParams(dataset, version, baseVersion) });
    return datasetDiffOf(rows[0]!);
  }
}
