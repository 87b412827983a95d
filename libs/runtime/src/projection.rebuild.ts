import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool, PoolClient } from 'pg';
import { EventEnvelopeSchema, type EventRegistry, type StoredEvent, type Subjects } from '@steward/contracts';
import { unitOfWork } from '@steward/event-store';
import type { Logger } from '@steward/observability';

/** A projection table a rebuild refills and compares with the live one. */
export interface RebuildTable {
  /** The live table (schema public). Its primary key identifies a row. */
  name: string;
  /** Columns set when the fold runs rather than from the events (updated_at, ...): not compared. */
  ignore?: readonly string[];
  /**
   * SQL predicate over a live row (alias `t`) that is true when the row
   * changed after the replay's frozen end (`$2::xid8`, `$3::bigint`: its
   * transaction id and position): the rebuild cannot know about such a row,
   * so it is skipped, not reported as a difference.
   */
  changedAfterEnd?: string;
}

/**
 * What one service rebuilds from a `steward replay start --rebuild SERVICE`:
 * the tables its projection writes, and the projection code itself.
 */
export interface RebuildTarget {
  service: string;
  tables: readonly RebuildTable[];
  /**
   * Tables the fold may write but that are not compared (the fold's own
   * bookkeeping): shadowed like the others, so a rebuild never writes a live table.
   */
  scratch?: readonly string[];
  /** The event types the projection folds; the rest of the replay is counted and skipped. */
  types: readonly string[];
  /**
   * The SAME projection code the live path runs, over one page of events in
   * commit order. `tx`'s search_path puts the shadow schema first, so the
   * fold's unqualified table names resolve to the shadow tables.
   */
  fold(tx: PoolClient, events: StoredEvent[]): Promise<void>;
}

/** A replay's frozen end: the store cursor of the last event it covers. */
export interface ReplayEnd {
  transactionId: string;
  position: string;
}

export interface RebuildVerdict {
  replayId: string;
  service: string;
  /** Messages read from the replay subject. */
  consumed: number;
  /** Events folded (of the target's types). */
  applied: number;
  /** Rows compared over all tables. */
  compared: number;
  /** Live rows left out because they changed after the replay's frozen end. */
  skipped: number;
  /** At most MAX_DIFFERENCES, each naming the table, the key and the columns. */
  differences: string[];
  ok: boolean;
  /** Set when this replay had already been rebuilt (by another replica): the recorded verdict. */
  alreadyDone?: true;
}

const MAX_DIFFERENCES = 50;

/** Where every service records its rebuild verdicts; `steward verify` reads the latest per service. */
export const REBUILD_VERDICTS_DDL = `
CREATE TABLE IF NOT EXISTS projection_rebuilds (
  replay_id   text        PRIMARY KEY,
  service     text        NOT NULL,
  consumed    bigint      NOT NULL,
  applied     bigint      NOT NULL,
  compared    bigint      NOT NULL,
  skipped     bigint      NOT NULL DEFAULT 0,
  differences jsonb       NOT NULL,
  ok          boolean     NOT NULL,
  verified_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS projection_rebuilds_service_idx ON projection_rebuilds (service, verified_at DESC);
`;

/**
 * Creates `projection_rebuilds` when missing. Under a transaction-scoped
 * advisory lock: services starting together would otherwise race on the
 * catalog (`CREATE TABLE IF NOT EXISTS` is not safe against itself).
 */
export async function ensureVerdictTable(pool: Pool): Promise<void> {
  await unitOfWork(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['steward.projection_rebuilds.ddl']);
    await tx.query(REBUILD_VERDICTS_DDL);
  });
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

function ident(name: string): string {
  if (!IDENT.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return `"${name}"`;
}

/**
 * Recovery for one service's projections, as docs/replays.md describes:
 * folds a rebuild replay into shadow tables in the schema
 * `rebuild_<service>` (same shape as the live tables, `LIKE ... INCLUDING
 * ALL`) with the service's own projection code, compares them row by row with
 * the live tables by primary key, and records the verdict in
 * `projection_rebuilds`. The shadow schema stays for inspection until the
 * next rebuild of that service.
 */
export class ProjectionRebuilder {
  private readonly schema: string;

  constructor(
    private readonly target: RebuildTarget,
    private readonly deps: { pool: Pool; nc: NatsConnection; subjects: Subjects; registry: EventRegistry; logger: Logger },
  ) {
    this.schema = `rebuild_${target.service.replace(/-/g, '_')}`;
    ident(this.schema);
    for (const t of [...target.tables.map((x) => x.name), ...(target.scratch ?? [])]) ident(t);
  }

  /** Rebuilds from one replay. `once`: a replay already rebuilt is not folded again. */
  async rebuild(replayId: string, replay: { total: number; upTo: ReplayEnd }, options: { timeoutMs?: number; once?: boolean } = {}): Promise<RebuildVerdict> {
    const { pool } = this.deps;
    const lock = await pool.connect();
    try {
      // One rebuild of this service's shadow schema at a time, across replicas.
      await lock.query('SELECT pg_advisory_lock(hashtext($1))', [`steward.rebuild.${this.target.service}`]);
      if (options.once) {
        const done = await this.recorded(replayId);
        if (done) return done;
      }
      await this.createShadow();
      const { consumed, applied } = await this.fold(replayId, replay.total, options.timeoutMs ?? 10 * 60_000);
      const { compared, skipped, differences } = await this.compare(replay.upTo);
      const verdict: RebuildVerdict = { replayId, service: this.target.service, consumed, applied, compared, skipped, differences, ok: differences.length === 0 };
      await pool.query(
        `INSERT INTO projection_rebuilds (replay_id, service, consumed, applied, compared, skipped, differences, ok) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
          ON CONFLICT (replay_id) DO UPDATE SET consumed = EXCLUDED.consumed, applied = EXCLUDED.applied, compared = EXCLUDED.compared,
            skipped = EXCLUDED.skipped, differences = EXCLUDED.differences, ok = EXCLUDED.ok, verified_at = now()`,
        [replayId, this.target.service, consumed, applied, compared, skipped, JSON.stringify(differences), verdict.ok],
      );
      this.deps.logger.info('projections rebuilt and compared', { replayId, service: this.target.service, ok: verdict.ok, compared, skipped, differences: differences.length });
      return verdict;
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtext($1))', [`steward.rebuild.${this.target.service}`]).catch(() => undefined);
      lock.release();
    }
  }

  private async recorded(replayId: string): Promise<RebuildVerdict | undefined> {
    const { rows } = await this.deps.pool.query<{ consumed: string; applied: string; compared: string; skipped: string; differences: string[]; ok: boolean }>(
      'SELECT consumed, applied, compared, skipped, differences, ok FROM projection_rebuilds WHERE replay_id = $1',
      [replayId],
    );
    const r = rows[0];
    return r && { replayId, service: this.target.service, consumed: Number(r.consumed), applied: Number(r.applied), compared: Number(r.compared), skipped: Number(r.skipped), differences: r.differences, ok: r.ok, alreadyDone: true };
  }

  private async createShadow(): Promise<void> {
    const s = ident(this.schema);
    const tables = [...this.target.tables.map((t) => t.name), ...(this.target.scratch ?? [])];
    await unitOfWork(this.deps.pool, async (tx) => {
      await tx.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await tx.query(`CREATE SCHEMA ${s}`);
      for (const t of tables) await tx.query(`CREATE TABLE ${s}.${ident(t)} (LIKE public.${ident(t)} INCLUDING ALL)`);
    }).catch((err: Error) => {
      throw new Error(`could not create the shadow schema ${this.schema} (the service's role needs CREATE on the database): ${err.message}`);
    });
  }

  /** Reads the replay subject from its start until `total` messages arrived, folding each page in one transaction. */
  private async fold(replayId: string, total: number, timeoutMs: number): Promise<{ consumed: number; applied: number }> {
    const types = new Set(this.target.types);
    const consumer = await jetstream(this.deps.nc).consumers.get(this.deps.subjects.stream('REPLAY'), { filter_subjects: this.deps.subjects.replay(replayId) });
    const deadline = Date.now() + timeoutMs;
    let consumed = 0;
    let applied = 0;
    try {
      while (consumed < total) {
        if (Date.now() > deadline) throw new Error(`rebuild ${replayId} of ${this.target.service}: ${consumed} of ${total} events arrived before the timeout`);
        const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
        const events: StoredEvent[] = [];
        for await (const m of batch) {
          consumed++;
          const envelope = EventEnvelopeSchema.parse(m.json());
          if (types.has(envelope.type)) events.push(this.stored(envelope));
        }
        if (events.length === 0) continue;
        await this.inShadow((tx) => this.target.fold(tx, events));
        applied += events.length;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { consumed, applied };
  }

  private inShadow(work: (tx: PoolClient) => Promise<void>): Promise<void> {
    return unitOfWork(this.deps.pool, async (tx) => {
      await tx.query(`SET LOCAL search_path = ${ident(this.schema)}, public`);
      await work(tx);
    });
  }

  /** The replayed envelope as the store read it, its data lifted to the current schema version. */
  private stored(e: ReturnType<typeof EventEnvelopeSchema.parse>): StoredEvent {
    const { data, version } = this.deps.registry.has(e.type) ? this.deps.registry.upcast(e.type, e.dataschemaversion, e.data) : { data: e.data, version: e.dataschemaversion };
    return {
      globalPosition: BigInt(e.globalposition ?? '0'),
      transactionId: BigInt(e.transactionid ?? '0'),
      streamId: e.streamid,
      streamVersion: e.streamversion,
      eventId: e.id,
      type: e.type,
      schemaVersion: version,
      data,
      metadata: {
        source: e.source,
        correlationId: e.correlationid,
        ...(e.causationid !== undefined && { causationId: e.causationid }),
        ...(e.traceparent !== undefined && { traceparent: e.traceparent }),
        ...(e.actor !== undefined && { actor: e.actor }),
        ...(e.workflowid !== undefined && { workflowId: e.workflowid }),
        ...(e.runid !== undefined && { runId: e.runid }),
      },
      occurredAt: new Date(e.time),
    };
  }

  /** Every compared table, live against rebuilt, by primary key, without the ignored columns. */
  private async compare(upTo: ReplayEnd): Promise<{ compared: number; skipped: number; differences: string[] }> {
    let compared = 0;
    let skipped = 0;
    const differences: string[] = [];
    for (const table of this.target.tables) {
      const key = await this.primaryKey(table.name);
      const cols = key.map(ident).join(', ');
      const live = `public.${ident(table.name)}`;
      const shadow = `${ident(this.schema)}.${ident(table.name)}`;
      const changed = table.changedAfterEnd ?? 'false';
      const { rows } = await this.deps.pool.query<{ n: string; skipped: string; key: unknown[] | null; live: Record<string, unknown> | null; rebuilt: Record<string, unknown> | null }>(
        // end_ types $2 and $3 for a table whose rows never change after the end (no predicate uses them).
        `WITH end_ AS (SELECT $2::xid8 AS tx, $3::bigint AS pos),
              l AS (SELECT ${cols}, to_jsonb(t) - $1::text[] AS row, (${changed}) AS changed FROM ${live} t),
              s AS (SELECT ${cols}, to_jsonb(t) - $1::text[] AS row FROM ${shadow} t),
              j AS (SELECT jsonb_build_array(${cols}) AS key, l.row AS live, s.row AS rebuilt, coalesce(l.changed, false) AS changed FROM l FULL JOIN s USING (${cols}))
         SELECT (SELECT count(*) FROM j WHERE NOT changed)::text AS n, (SELECT count(*) FROM j WHERE changed)::text AS skipped, d.key, d.live, d.rebuilt
           FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM j WHERE NOT changed AND live IS DISTINCT FROM rebuilt ORDER BY key LIMIT ${MAX_DIFFERENCES}) d ON true`,
        [[...(table.ignore ?? [])], upTo.transactionId, upTo.position],
      );
      compared += Number(rows[0]?.n ?? 0);
      skipped += Number(rows[0]?.skipped ?? 0);
      for (const r of rows) {
        if (r.key === null) continue;
        const k = JSON.stringify(r.key);
        if (r.live === null) differences.push(`${table.name} ${k}: rebuilt but no live row`);
        else if (r.rebuilt === null) differences.push(`${table.name} ${k}: live row the events do not produce`);
        else {
          const fields = [...new Set([...Object.keys(r.live), ...Object.keys(r.rebuilt)])].filter((f) => JSON.stringify(r.live![f]) !== JSON.stringify(r.rebuilt![f]));
          differences.push(`${table.name} ${k}: ${fields.join(', ')} differ`);
        }
      }
    }
    return { compared, skipped, differences: differences.slice(0, MAX_DIFFERENCES) };
  }

  private async primaryKey(table: string): Promise<string[]> {
    const { rows } = await this.deps.pool.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i
         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = ('public.' || $1)::regclass AND i.indisprimary
        ORDER BY k.ord`,
      [table],
    );
    if (rows.length === 0) throw new Error(`${table} has no primary key: a rebuild compares rows by it`);
    return rows.map((r) => r.attname);
  }
}

/**
 * Runs a service's side of `steward replay start --rebuild SERVICE`: finds
 * rebuild replays for it in the store (their `replay.started`) that have no
 * verdict yet and were not cancelled, and rebuilds from each once.
 */
export class ProjectionRebuildRunner {
  private stopping = false;
  private loop?: Promise<void>;
  private sleeping?: { timer: NodeJS.Timeout; resolve: () => void };

  constructor(
    private readonly rebuilder: ProjectionRebuilder,
    private readonly service: string,
    private readonly deps: { pool: Pool; logger: Logger },
    private readonly options: { pollMs: number; timeoutMs: number },
  ) {}

  /** A service's runner for its target, with REBUILD_POLL_MS / REBUILD_TIMEOUT_MS from its config. */
  static for(
    target: RebuildTarget,
    deps: { pool: Pool; nc: NatsConnection; subjects: Subjects; registry: EventRegistry; logger: Logger },
    config: { REBUILD_POLL_MS: number; REBUILD_TIMEOUT_MS: number },
  ): ProjectionRebuildRunner {
    return new ProjectionRebuildRunner(new ProjectionRebuilder(target, deps), target.service, deps, { pollMs: config.REBUILD_POLL_MS, timeoutMs: config.REBUILD_TIMEOUT_MS });
  }

  async start(): Promise<void> {
    await ensureVerdictTable(this.deps.pool);
    this.stopping = false;
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.resolve();
    }
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const { rows } = await this.deps.pool.query<{ replay_id: string; total: string; up_to: ReplayEnd }>(
          `SELECT s.data->>'replayId' AS replay_id, s.data->>'total' AS total, s.data->'upTo' AS up_to FROM events s
            WHERE s.type = 'replay.started' AND s.data->>'kind' = 'rebuild' AND s.data->>'consumer' = $1
              AND NOT EXISTS (SELECT 1 FROM projection_rebuilds b WHERE b.replay_id = s.data->>'replayId')
              AND NOT EXISTS (SELECT 1 FROM events f WHERE f.stream_id = s.stream_id AND f.type = 'replay.failed')
            ORDER BY s.transaction_id, s.global_position LIMIT 1`,
          [this.service],
        );
        const next = rows[0];
        if (next !== undefined) {
          await this.rebuilder.rebuild(next.replay_id, { total: Number(next.total), upTo: next.up_to }, { timeoutMs: this.options.timeoutMs, once: true });
          continue;
        }
      } catch (err) {
        if (this.stopping) break;
        this.deps.logger.error('projection rebuild failed; retrying', { service: this.service, err });
      }
      await new Promise<void>((resolve) => {
        this.sleeping = { timer: setTimeout(resolve, this.options.pollMs), resolve };
      });
      this.sleeping = undefined;
    }
  }
}
