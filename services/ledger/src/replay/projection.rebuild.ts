import type { Pool } from 'pg';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { unitOfWork } from '@steward/event-store';
import type { Logger } from '@steward/observability';
import { applyReplayEvent, REPLAY_PROJECTION_TYPES } from './replay.projection';

/** The ledger rebuilds its own projection from a rebuild replay whose consumer is `ledger`. */
export const LEDGER_SERVICE = 'ledger';

export interface RebuildReport {
  replayId: string;
  /** Messages read from `steward.replay.<id>.>` (all of them, projection types or not). */
  consumed: number;
  /** Events folded into the shadow table. */
  applied: number;
  /** Rows compared (live rows created before the rebuild and unchanged since it started). */
  compared: number;
  /** Live rows left out because they changed after the rebuild started. */
  skipped: number;
  differences: string[];
  ok: boolean;
  /** Set when another replica (or an earlier call) had already rebuilt this replay: the recorded verdict. */
  alreadyDone?: true;
}

/** Fields compared between the live and the rebuilt row (updated_at is bookkeeping, not state). */
const FIELDS = ['kind', 'selection', 'transform', 'consumer', 'dry_run', 'total', 'published', 'applied', 'up_to_transaction', 'up_to_position', 'state', 'requested_by', 'started_at', 'published_at', 'completed_at', 'failed'];

const REBUILD_LOCK = 0x4c45_5242; // "LERB": one rebuild of the shadow table at a time

/**
 * Recovery for the ledger's own projection, the way every service rebuilds
 * from a rebuild replay: fold `steward.replay.<id>.>` into a shadow table
 * (`ledger_replays_rebuild`) with the same code the live path uses, then
 * compare it row by row with the live table and record the verdict in
 * `ledger_rebuilds` (what `steward verify` reports).
 */
export class ReplayProjectionRebuilder {
  constructor(private readonly deps: { pool: Pool; nc: NatsConnection; subjects: Subjects; logger: Logger }) {}

  /**
   * `once`: a replay already rebuilt (by another replica that held the lock
   * while this one waited) is not folded again; its recorded verdict is returned.
   */
  async rebuild(replayId: string, options: { timeoutMs?: number; once?: boolean } = {}): Promise<RebuildReport> {
    const { pool } = this.deps;
    const lock = await pool.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [REBUILD_LOCK]);
      if (options.once) {
        const done = await this.recorded(replayId);
        if (done) return done;
      }
      const replay = await this.replayRow(replayId);
      await pool.query('TRUNCATE ledger_replays_rebuild');
      const { consumed, applied } = await this.fold(replayId, replay.total, options.timeoutMs ?? 5 * 60_000);
      const report = { replayId, consumed, applied, ...(await this.compare(replayId, replay.upTo)) };
      await pool.query(
        `INSERT INTO ledger_rebuilds (replay_id, consumed, applied, compared, skipped, differences, ok) VALUES ($1, $2, $3, $4, $5, $6, $7)
          ON CONFLICT (replay_id) DO UPDATE SET consumed = EXCLUDED.consumed, applied = EXCLUDED.applied, compared = EXCLUDED.compared,
            skipped = EXCLUDED.skipped, differences = EXCLUDED.differences, ok = EXCLUDED.ok, verified_at = now()`,
        [replayId, report.consumed, report.applied, report.compared, report.skipped, JSON.stringify(report.differences), report.ok],
      );
      this.deps.logger.info('ledger projection rebuilt and compared', { replayId, ok: report.ok, compared: report.compared, differences: report.differences.length });
      return report;
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [REBUILD_LOCK]).catch(() => undefined);
      lock.release();
    }
  }

  private async recorded(replayId: string): Promise<RebuildReport | undefined> {
    const { rows } = await this.deps.pool.query<{ consumed: number; applied: number; compared: number; skipped: number; differences: string[]; ok: boolean }>(
      'SELECT consumed, applied, compared, skipped, differences, ok FROM ledger_rebuilds WHERE replay_id = $1',
      [replayId],
    );
    const r = rows[0];
    return r && { replayId, consumed: Number(r.consumed), applied: Number(r.applied), compared: Number(r.compared), skipped: Number(r.skipped), differences: r.differences, ok: r.ok, alreadyDone: true };
  }

  private async replayRow(replayId: string): Promise<{ total: number; upTo: { transactionId: string; position: string } }> {
    const { rows } = await this.deps.pool.query<{ total: string; kind: string; consumer: string; up_to_transaction: string; up_to_position: string }>(
      'SELECT total, kind, consumer, up_to_transaction, up_to_position FROM ledger_replays WHERE replay_id = $1',
      [replayId],
    );
    const row = rows[0];
    if (!row) throw new Error(`replay ${replayId} not found`);
    if (row.kind !== 'rebuild' || row.consumer !== LEDGER_SERVICE) throw new Error(`replay ${replayId} is not a rebuild for the ledger (${row.kind} for ${row.consumer})`);
    return { total: Number(row.total), upTo: { transactionId: row.up_to_transaction, position: row.up_to_position } };
  }

  /** Reads the replay subject from its start until `total` messages arrived, folding each page in one transaction. */
  private async fold(replayId: string, total: number, timeoutMs: number): Promise<{ consumed: number; applied: number }> {
    const types = new Set<string>(REPLAY_PROJECTION_TYPES);
    const consumer = await jetstream(this.deps.nc).consumers.get(this.deps.subjects.stream('REPLAY'), { filter_subjects: this.deps.subjects.replay(replayId) });
    const deadline = Date.now() + timeoutMs;
    let consumed = 0;
    let applied = 0;
    try {
      while (consumed < total) {
        if (Date.now() > deadline) throw new Error(`rebuild ${replayId}: ${consumed} of ${total} events arrived before the timeout`);
        const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
        const events: { type: string; data: unknown; occurredAt: Date }[] = [];
        for await (const m of batch) {
          consumed++;
          const e = m.json<{ type: string; data: unknown; time: string }>();
          if (types.has(e.type)) events.push({ type: e.type, data: e.data, occurredAt: new Date(e.time) });
        }
        if (events.length === 0) continue;
        await unitOfWork(this.deps.pool, async (tx) => {
          for (const e of events) await applyReplayEvent(tx, e, 'ledger_replays_rebuild');
        });
        applied += events.length;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { consumed, applied };
  }

  /**
   * Live rows against rebuilt ones. A live row whose replay recorded
   * anything after the rebuild's frozen end (or that started after it) is
   * left out: the rebuild cannot know about it.
   */
  private async compare(replayId: string, upTo: { transactionId: string; position: string }): Promise<{ compared: number; skipped: number; differences: string[]; ok: boolean }> {
    const { rows } = await this.deps.pool.query<{ id: string; live: Record<string, unknown> | null; rebuilt: Record<string, unknown> | null; changed: boolean }>(
      `SELECT coalesce(l.replay_id, s.replay_id) AS id, to_jsonb(l) AS live, to_jsonb(s) AS rebuilt,
          l.replay_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM events e
            WHERE (e.stream_id = 'replay-' || l.replay_id OR (e.type = 'transformation.replay_completed' AND e.data->>'replayId' = l.replay_id))
              AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint)
          ) AS changed
        FROM (SELECT * FROM ledger_replays WHERE replay_id <> $1) l
        FULL JOIN ledger_replays_rebuild s ON s.replay_id = l.replay_id
        ORDER BY 1`,
      [replayId, upTo.transactionId, upTo.position],
    );
    const differences: string[] = [];
    let compared = 0;
    let skipped = 0;
    for (const r of rows) {
      // Changed after the rebuild's frozen end: the rebuild cannot know, so it is not a difference.
      if (r.changed) {
        skipped++;
        continue;
      }
      compared++;
      if (r.live === null) differences.push(`replay ${r.id}: rebuilt but no live row`);
      else if (r.rebuilt === null) differences.push(`replay ${r.id}: live row without events`);
      else {
        const fields = FIELDS.filter((f) => JSON.stringify(r.live![f]) !== JSON.stringify(r.rebuilt![f]));
        if (fields.length > 0) differences.push(`replay ${r.id}: ${fields.join(', ')} differ`);
      }
    }
    return { compared, skipped, differences, ok: differences.length === 0 };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the ledger's side of `steward replay start --rebuild ledger`: each
 * rebuild replay for the ledger is folded into the shadow table and compared
 * once (another replica finding it done skips it).
 */
export class LedgerRebuildRunner {
  private stopping = false;
  private loop?: Promise<void>;

  constructor(
    private readonly rebuilder: ReplayProjectionRebuilder,
    private readonly deps: { pool: Pool; logger: Logger },
    private readonly options: { pollMs: number; timeoutMs: number },
  ) {}

  start(): void {
    this.stopping = false;
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const { rows } = await this.deps.pool.query<{ replay_id: string }>(
          `SELECT replay_id FROM ledger_replays r
            WHERE kind = 'rebuild' AND consumer = $1 AND state NOT IN ('failed', 'cancelled')
              AND NOT EXISTS (SELECT 1 FROM ledger_rebuilds b WHERE b.replay_id = r.replay_id)
            ORDER BY started_at LIMIT 1`,
          [LEDGER_SERVICE],
        );
        const next = rows[0]?.replay_id;
        if (next !== undefined) {
          await this.rebuilder.rebuild(next, { timeoutMs: this.options.timeoutMs, once: true });
          continue;
        }
      } catch (err) {
        if (this.stopping) break;
        this.deps.logger.error('ledger projection rebuild failed; retrying', { err });
      }
      await sleep(this.options.pollMs);
    }
  }
}
