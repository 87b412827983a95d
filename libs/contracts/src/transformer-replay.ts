import type { RowCounts } from './transformation.events';

/**
 * A replay as the transformer keeps it (`transformer_replays`): what it
 * applied so far, its counts and its outcome. The transformer writes it; the
 * gateway reads it for `steward replay diff`. A contract over that table
 * like an event schema: change the table and this together.
 */
export interface TransformerReplay {
  replayId: string;
  transform: string;
  dataset: string | null;
  datasetVersion: number | null;
  baseVersion: number | null;
  dryRun: boolean;
  total: number;
  processed: number;
  published: boolean;
  counts: RowCounts;
  failed: number;
  error: { code: string; message: string } | null;
  completedAt: Date | null;
}

/** The columns transformerReplayOf reads (for SELECT and RETURNING). */
export const TRANSFORMER_REPLAY_COLUMNS = `replay_id, transform, dataset, dataset_version, base_version, dry_run, total, processed, published,
  rows, upserted, unchanged, quarantined, failed, error, completed_at`;

/** A row of TRANSFORMER_REPLAY_COLUMNS as pg returns it (bigints as text). */
export interface TransformerReplayRow {
  replay_id: string;
  transform: string;
  dataset: string | null;
  dataset_version: number | null;
  base_version: number | null;
  dry_run: boolean;
  total: string;
  processed: string;
  published: boolean;
  rows: string;
  upserted: string;
  unchanged: string;
  quarantined: string;
  failed: string;
  error: TransformerReplay['error'];
  completed_at: Date | null;
}

export function transformerReplayOf(r: TransformerReplayRow): TransformerReplay {
  return {
    replayId: r.replay_id,
    transform: r.transform,
    dataset: r.dataset,
    datasetVersion: r.dataset_version,
    baseVersion: r.base_version,
    dryRun: r.dry_run,
    total: Number(r.total),
    processed: Number(r.processed),
    published: r.published,
    counts: { rows: Number(r.rows), upserted: Number(r.upserted), unchanged: Number(r.unchanged), quarantined: Number(r.quarantined) },
    failed: Number(r.failed),
    error: r.error,
    completedAt: r.completed_at,
  };
}
