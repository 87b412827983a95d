/**
 * How two versions of a dataset differ, over the transformer's tables (the
 * transformer records it when a replay completes; the gateway's
 * `replay diff` reads it live). A contract between the two like an event
 * schema: change the tables and this together. `$1` dataset, `$2` the new
 * version, `$3` the base version (-1 when there is none).
 */
export const DATASET_DIFF_SQL = `SELECT count(*) FILTER (WHERE b.key IS NULL) AS added,
       count(*) FILTER (WHERE n.key IS NOT NULL AND b.key IS NOT NULL AND n.hash <> b.hash) AS changed,
       count(*) FILTER (WHERE n.key IS NULL) AS removed,
       count(*) FILTER (WHERE n.hash = b.hash) AS unchanged,
       (SELECT count(*) FROM transformer_quarantine WHERE dataset = $1 AND version = $2) AS q_new,
       (SELECT count(*) FROM transformer_quarantine WHERE dataset = $1 AND version = $3) AS q_base
  FROM (SELECT key, hash FROM transformer_rows WHERE dataset = $1 AND version = $2) n
  FULL JOIN (SELECT key, hash FROM transformer_rows WHERE dataset = $1 AND version = $3) b ON n.key = b.key`;

/** The row DATASET_DIFF_SQL returns (counts as text: bigint). */
export interface DatasetDiffRow {
  added: string;
  changed: string;
  removed: string;
  unchanged: string;
  q_new: string;
  q_base: string;
}

/** Added, changed, removed and unchanged keys between two versions, with quarantine counts. */
export interface DatasetDiffSummary {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  quarantined: { new: number; base: number };
}

export function datasetDiffParams(dataset: string, version: number, baseVersion: number | null): [string, number, number] {
  return [dataset, version, baseVersion ?? -1];
}

export function datasetDiffOf(r: DatasetDiffRow): DatasetDiffSummary {
  return { added: Number(r.added), changed: Number(r.changed), removed: Number(r.removed), unchanged: Number(r.unchanged), quarantined: { new: Number(r.q_new), base: Number(r.q_base) } };
}
