import type { Pool } from 'pg';
import {
  DATASET_DIFF_SQL,
  datasetDiffOf,
  datasetDiffParams,
  TRANSFORMER_REPLAY_COLUMNS,
  transformerReplayOf,
  type DatasetDiffRow,
  type DatasetDiffSummary,
  type TransformerReplay,
  type TransformerReplayRow,
} from '@steward/contracts';

// Read-only SQL over the transformer's tables (transformer_datasets,
// transformer_dataset_versions, transformer_rows, transformer_quarantine,
// transformer_replays). The transformer owns and writes them; the gateway
// only reads, possibly through the read-only role.

export interface DatasetRow {
  dataset: string;
  currentVersion: number | null;
  promotedBy: string | null;
  promotedAt: Date | null;
  lastCompletedAt: Date | null;
  createdAt: Date;
  /** Of the current version. */
  transform: string | null;
  rows: number;
  quarantined: number;
  versions: number;
}

export interface DatasetVersionRow {
  version: number;
  transform: string;
  rows: number;
  quarantined: number;
  captures: number;
  replayId: string | null;
  createdAt: Date;
  lastCompletedAt: Date | null;
}

export interface QuarantineRow {
  version: number;
  captureId: string;
  transform: string;
  rowIndex: number;
  reason: string;
  issues: Array<{ path: string; message: string }>;
  raw: unknown;
  replayId: string | null;
  quarantinedAt: Date;
}

export interface QuarantineCursor {
  at: string;
  captureId: string;
  rowIndex: number;
}

/** The transformer's replay row (libs/contracts). */
export type ReplayOfTransform = TransformerReplay;

export type DiffSummary = DatasetDiffSummary;

export interface DiffEntry {
  key: string;
  change: 'added' | 'changed' | 'removed';
  new?: unknown;
  base?: unknown;
}

const DATASET_SELECT = `
  SELECT d.dataset, d.current_version, d.promoted_by, d.promoted_at, d.last_completed_at, d.created_at,
         v.transform, COALESCE(v.rows, 0)::bigint AS rows, COALESCE(v.quarantined, 0)::bigint AS quarantined,
         (SELECT count(*) FROM transformer_dataset_versions x WHERE x.dataset = d.dataset) AS versions
    FROM transformer_datasets d
    LEFT JOIN transformer_dataset_versions v ON v.dataset = d.dataset AND v.version = d.current_version`;

interface RawDataset {
  dataset: string;
  current_version: number | null;
  promoted_by: string | null;
  promoted_at: Date | null;
  last_completed_at: Date | null;
  created_at: Date;
  transform: string | null;
  rows: string;
  quarantined: string;
  versions: string;
}

function datasetRow(r: RawDataset): DatasetRow {
  return {
    dataset: r.dataset,
    currentVersion: r.current_version,
    promotedBy: r.promoted_by,
    promotedAt: r.promoted_at,
    lastCompletedAt: r.last_completed_at,
    createdAt: r.created_at,
    transform: r.transform,
    rows: Number(r.rows),
    quarantined: Number(r.quarantined),
    versions: Number(r.versions),
  };
}

export class DatasetReadsRepository {
  constructor(private readonly pool: Pool) {}

  /** By name; `after`: the last name of the previous page. */
  async listDatasets(limit: number, after?: string): Promise<DatasetRow[]> {
    const { rows } = await this.pool.query<RawDataset>(`${DATASET_SELECT} WHERE ($1::text IS NULL OR d.dataset > $1) ORDER BY d.dataset LIMIT $2`, [after ?? null, limit]);
    return rows.map(datasetRow);
  }

  async findDataset(dataset: string): Promise<DatasetRow | undefined> {
    const { rows } = await this.pool.query<RawDataset>(`${DATASET_SELECT} WHERE d.dataset = $1`, [dataset]);
    return rows[0] && datasetRow(rows[0]);
  }

  async versions(dataset: string): Promise<DatasetVersionRow[]> {
    const { rows } = await this.pool.query<{ version: number; transform: string; rows: string; quarantined: string; captures: string; replay_id: string | null; created_at: Date; last_completed_at: Date | null }>(
      'SELECT version, transform, rows, quarantined, captures, replay_id, created_at, last_completed_at FROM transformer_dataset_versions WHERE dataset = $1 ORDER BY version',
      [dataset],
    );
    return rows.map((r) => ({ version: r.version, transform: r.transform, rows: Number(r.rows), quarantined: Number(r.quarantined), captures: Number(r.captures), replayId: r.replay_id, createdAt: r.created_at, lastCompletedAt: r.last_completed_at }));
  }

  /** Newest first; `version` narrows to one dataset version. */
  async quarantine(dataset: string, options: { version?: number; limit: number; after?: QuarantineCursor }): Promise<QuarantineRow[]> {
    const { rows } = await this.pool.query<{ version: number; capture_id: string; transform: string; row_index: number; reason: string; issues: QuarantineRow['issues']; raw: unknown; replay_id: string | null; quarantined_at: Date }>(
      `SELECT version, capture_id, transform, row_index, reason, issues, raw, replay_id, quarantined_at
         FROM transformer_quarantine
        WHERE dataset = $1 AND ($2::int IS NULL OR version = $2)
          AND ($3::timestamptz IS NULL OR (quarantined_at, capture_id, row_index) < ($3::timestamptz, $4::uuid, $5::int))
        ORDER BY quarantined_at DESC, capture_id DESC, row_index DESC
        LIMIT $6`,
      [dataset, options.version ?? null, options.after?.at ?? null, options.after?.captureId ?? null, options.after?.rowIndex ?? null, options.limit],
    );
    return rows.map((r) => ({ version: r.version, captureId: r.capture_id, transform: r.transform, rowIndex: r.row_index, reason: r.reason, issues: r.issues, raw: r.raw, replayId: r.replay_id, quarantinedAt: r.quarantined_at }));
  }

  async findReplay(replayId: string): Promise<ReplayOfTransform | undefined> {
    const { rows } = await this.pool.query<TransformerReplayRow>(`SELECT ${TRANSFORMER_REPLAY_COLUMNS} FROM transformer_replays WHERE replay_id = $1`, [replayId]);
    return rows[0] && transformerReplayOf(rows[0]);
  }


  /** Added, changed, removed and unchanged keys between two versions (libs/contracts DATASET_DIFF_SQL), with quarantine counts. */
  async diffSummary(dataset: string, version: number, baseVersion: number | null): Promise<DiffSummary> {
    const { rows } = await this.pool.query<DatasetDiffRow>(DATASET_DIFF_SQL, datasetDiffParams(dataset, version, baseVersion));
    return datasetDiffOf(rows[0]!);
  }

  /** The rows that differ, by key, with both sides' data; at most `limit`. */
  async diffEntries(dataset: string, version: number, baseVersion: number | null, limit: number): Promise<DiffEntry[]> {
    const { rows } = await this.pool.query<{ key: string; change: DiffEntry['change']; new: unknown; base: unknown }>(
      `SELECT COALESCE(n.key, b.key) AS key,
              CASE WHEN b.key IS NULL THEN 'added' WHEN n.key IS NULL THEN 'removed' ELSE 'changed' END AS change,
              n.data AS new, b.data AS base
         FROM (SELECT key, hash, data FROM transformer_rows WHERE dataset = $1 AND version = $2) n
         FULL JOIN (SELECT key, hash, data FROM transformer_rows WHERE dataset = $1 AND version = $3) b ON n.key = b.key
        WHERE n.key IS NULL OR b.key IS NULL OR n.hash <> b.hash
        ORDER BY 1
        LIMIT $4`,
      [dataset, version, baseVersion ?? -1, limit],
    );
    return rows.map((r) => ({ key: r.key, change: r.change, ...(r.new !== null && { new: r.new }), ...(r.base !== null && { base: r.base }) }));
  }
}
