import { formatTable, type Column } from '../output/table.format';

/** GET /replays/:id/diff, as the gateway answers it. */
export interface ReplayDiff {
  replayId: string;
  transform: string;
  dataset?: string;
  version?: number;
  baseVersion?: number;
  dryRun: boolean;
  status: string;
  processed: number;
  total: number;
  counts: { rows: number; upserted: number; unchanged: number; quarantined: number };
  error?: string;
  summary?: { added: number; changed: number; removed: number; unchanged: number; quarantined: { new: number; base: number } };
  rows: Array<{ key: string; change: 'added' | 'changed' | 'removed'; new?: unknown; base?: unknown }>;
  truncated?: boolean;
}

type DiffRow = ReplayDiff['rows'][number];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * What a reader wants from a changed row: the fields that differ
 * (`rate: 0.9 -> 0.91`, `+inverse: 1.06`), not two long JSON documents that
 * agree on everything but one field. Added and removed rows show the row.
 */
export function rowChange(r: DiffRow): string {
  if (r.change !== 'changed' || !isRecord(r.base) || !isRecord(r.new)) return text(r.change === 'removed' ? r.base : r.new);
  const before = r.base;
  const after = r.new;
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return fields
    .filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]))
    .map((f) => (!(f in before) ? `+${f}: ${text(after[f])}` : !(f in after) ? `-${f}: ${text(before[f])}` : `${f}: ${text(before[f])} -> ${text(after[f])}`))
    .join(', ');
}

const rowColumns: Column<DiffRow>[] = [
  { header: 'change', value: (r) => r.change },
  { header: 'key', value: (r) => r.key, max: 40 },
  { header: 'fields', value: rowChange, max: 100 },
];

/** Summary lines, then the differing rows (as many as the gateway returned). */
export function formatReplayDiff(d: ReplayDiff, color: boolean): string {
  const against = d.baseVersion === undefined ? 'no earlier version' : `v${d.baseVersion}`;
  // A replay that failed before writing (an unknown transform) has no dataset version: say so, not "? v?".
  const target = d.dataset === undefined ? 'no dataset' : `${d.dataset} v${d.version ?? '?'} against ${against}`;
  const head = `replay ${d.replayId} ${d.status}: ${d.transform} -> ${target} (${d.processed}/${d.total} captures)`;
  const lines = [head];
  if (d.error) lines.push(`error: ${d.error}`);
  if (!d.dryRun && !d.summary) {
    lines.push('nothing to compare: the replay wrote no dataset version');
    return lines.join('\n');
  }
  if (d.dryRun || !d.summary) {
    const c = d.counts;
    lines.push(`dry run: nothing written; would upsert ${c.upserted}, unchanged ${c.unchanged}, quarantine ${c.quarantined} of ${c.rows} rows`);
    return lines.join('\n');
  }
  const s = d.summary;
  const base = d.baseVersion === undefined ? '' : ` (v${d.baseVersion}: ${s.quarantined.base})`;
  const pairs: Array<[string, string]> = [
    ['added', String(s.added)],
    ['changed', String(s.changed)],
    ['removed', String(s.removed)],
    ['unchanged', String(s.unchanged)],
    ['quarantined', `${s.quarantined.new}${base}`],
  ];
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) lines.push(`  ${k.padEnd(width)}  ${v}`);
  if (d.rows.length > 0) {
    lines.push('', formatTable(rowColumns, d.rows, { color }));
    if (d.truncated) lines.push(`(first ${d.rows.length} of ${s.added + s.changed + s.removed} differing rows; --limit N for more, --json for the data)`);
  }
  return lines.join('\n');
}
