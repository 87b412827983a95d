import { NotFoundError } from '@steward/contracts';
import type { ReadModelGate } from '../operator/read-model.gate';
import type { DatasetReadsRepository } from './dataset-reads.repository';

const UNDEFINED_TABLE = '42P01';
const SERVICE = 'transformer';

/**
 * `replay diff`: what a backfill made of its dataset version against the
 * version that was current when the replay started, read from the
 * transformer's tables: a summary (added, changed, removed, unchanged keys
 * and quarantine counts on both sides) and up to `limit` differing rows
 * with both sides' data. A dry run wrote nothing, so it has counts only.
 */
export async function replayDiff(repository: DatasetReadsRepository, gate: ReadModelGate, replayId: string, limit = 100) {
  try {
    const replay = await repository.findReplay(replayId);
    if (!replay) throw new NotFoundError('replay', replayId, { hint: 'the transformer has not seen this replay start (is it a backfill?)' });
    const status = replay.error ? 'failed' : replay.completedAt ? 'completed' : 'running';
    const base = {
      replayId,
      transform: replay.transform,
      dataset: replay.dataset ?? undefined,
      version: replay.datasetVersion ?? undefined,
      baseVersion: replay.baseVersion ?? undefined,
      dryRun: replay.dryRun,
      status,
      processed: replay.processed,
      total: replay.total,
      counts: replay.counts,
      ...(replay.error && { error: `${replay.error.code}: ${replay.error.message}` }),
    };
    if (replay.dryRun || replay.dataset === null || replay.datasetVersion === null) return { ...base, summary: undefined, rows: [] };
    const summary = await repository.diffSummary(replay.dataset, replay.datasetVersion, replay.baseVersion);
    const rows = limit === 0 ? [] : await repository.diffEntries(replay.dataset, replay.datasetVersion, replay.baseVersion, limit);
    const differing = summary.added + summary.changed + summary.removed;
    return { ...base, summary, rows, truncated: rows.length < differing };
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) return gate.unavailable(SERVICE, 'datasets');
    throw err;
  }
}
