import type { Pool } from 'pg';
import type { CheckResult, ProjectionChecker } from '../verify/projection.checker';

// Read-only SQL over the ledger's replay projection (ledger_replays, and the
// live count in ledger_replay_checkpoints). The ledger owns and writes them;
// the gateway only reads, possibly through the read-only role.

export interface ReplayRow {
  id: string;
  kind: 'backfill' | 'rebuild';
  selection: Record<string, unknown>;
  transform: string | null;
  consumer: string;
  dryRun: boolean;
  total: number;
  /** Events on the replay subject (the checkpoint's live count when it is ahead of the last progress event). */
  published: number;
  /** What the consumer applied, once it reported completion. */
  applied: number | null;
  state: string;
  requestedBy: string | null;
  startedAt: Date;
  publishedAt: Date | null;
  completedAt: Date | null;
  failed: { code: string; message: string; at?: string } | null;
}

interface Row {
  replay_id: string;
  kind: 'backfill' | 'rebuild';
  selection: Record<string, unknown>;
  transform: string | null;
  consumer: string;
  dry_run: boolean;
  total: string;
  published: string;
  applied: string | null;
  state: string;
  requested_by: string | null;
  started_at: Date;
  published_at: Date | null;
  completed_at: Date | null;
  failed: ReplayRow['failed'];
}

/** SQLSTATE undefined_table: the ledger has not created its replay tables in this database yet. */
export const UNDEFINED_TABLE = '42P01';

export class ReplayReadsRepository {
  constructor(private readonly pool: Pool) {}

  async find(replayId: string): Promise<ReplayRow | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT r.replay_id, r.kind, r.selection, r.transform, r.consumer, r.dry_run, r.total,
          GREATEST(r.published, COALESCE(c.published, 0)) AS published, r.applied, r.state, r.requested_by,
          r.started_at, r.published_at, r.completed_at, r.failed
        FROM ledger_replays r LEFT JOIN ledger_replay_checkpoints c USING (replay_id)
        WHERE r.replay_id = $1`,
      [replayId],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      id: r.replay_id,
      kind: r.kind,
      selection: r.selection,
      transform: r.transform,
      consumer: r.consumer,
      dryRun: r.dry_run,
      total: Number(r.total),
      published: Number(r.published),
      applied: r.applied === null ? null : Number(r.applied),
      state: r.state,
      requestedBy: r.requested_by,
      startedAt: r.started_at,
      publishedAt: r.published_at,
      completedAt: r.completed_at,
      failed: r.failed,
    };
  }
}

/**
 * `steward verify`: the latest rebuild verdict of every service that
 * rebuilds its projections through the shared rebuilder (libs/runtime),
 * from `projection_rebuilds`.
 */
export class ProjectionRebuildsChecker implements ProjectionChecker {
  readonly name = 'projection_rebuilds';

  constructor(private readonly pool: Pool) {}

  async check(): Promise<CheckResult> {
    let rows;
    try {
      ({ rows } = await this.pool.query<{ service: string; replay_id: string; compared: string; differences: string[]; ok: boolean; verified_at: Date }>(
        `SELECT DISTINCT ON (service) service, replay_id, compared, differences, ok, verified_at
           FROM projection_rebuilds ORDER BY service, verified_at DESC`,
      ));
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return { ok: true, detail: 'no service has rebuilt its projections yet (steward replay start --rebuild SERVICE)' };
      throw err;
    }
    if (rows.length === 0) return { ok: true, detail: 'no service has rebuilt its projections yet (steward replay start --rebuild SERVICE)' };
    const failing = rows.filter((r) => !r.ok);
    const each = rows.map((r) => `${r.service}: ${r.ok ? `${r.compared} rows match` : `${r.differences.length} differences`} (rebuild ${r.replay_id}, ${r.verified_at.toISOString()})`);
    if (failing.length === 0) return { ok: true, detail: each.join('; '), services: rows.map((r) => r.service) };
    return {
      ok: false,
      detail: `${failing.map((r) => r.service).join(', ')} differ from their rebuild: ${failing.flatMap((r) => r.differences.slice(0, 3).map((d) => `${r.service} ${d}`)).join('; ')}`,
      services: rows.map((r) => r.service),
      differences: failing.flatMap((r) => r.differences.slice(0, 50).map((d) => `${r.service} ${d}`)),
    };
  }
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * `GET /replays/:id`: done/total, rate and ETA. `done` is what the consumer
 * applied once it reported it, otherwise what the ledger published; the rate
 * is over the replay's whole run so far.
 */
export function replayStatus(r: ReplayRow, now: Date) {
  const done = r.applied ?? r.published;
  const final = FINAL.has(r.state);
  const end = r.completedAt ?? (final ? (r.publishedAt ?? now) : now);
  const seconds = Math.max(0.001, (end.getTime() - r.startedAt.getTime()) / 1000);
  const ratePerSec = done > 0 ? Math.round((done / seconds) * 10) / 10 : null;
  const etaSeconds = final ? 0 : ratePerSec === null ? null : Math.ceil(Math.max(0, r.total - done) / ratePerSec);
  return {
    id: r.id,
    status: r.state,
    kind: r.kind,
    consumer: r.consumer,
    ...(r.transform !== null && { transform: r.transform }),
    dryRun: r.dryRun,
    selection: r.selection,
    done,
    total: r.total,
    published: r.published,
    applied: r.applied,
    ratePerSec,
    etaSeconds,
    requestedBy: r.requestedBy,
    startedAt: r.startedAt.toISOString(),
    publishedAt: r.publishedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
    error: r.failed === null ? null : `${r.failed.code}: ${r.failed.message}`,
  };
}
