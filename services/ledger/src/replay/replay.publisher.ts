import type { Pool } from 'pg';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import {
  Headers,
  ReplayFailed,
  ReplayProgressed,
  ReplayPublished,
  TransformationReplayCompleted,
  type EventData,
  type ReplaySelection,
  type Subjects,
} from '@steward/contracts';
import {
  CheckpointStore,
  commitSafeHead,
  compareCursors,
  readSelectionEncoded,
  unitOfWork,
  type Cursor,
  type EncodedEvent,
  type EventSelection,
  type EventStore,
  type Queryable,
} from '@steward/event-store';
import type { Logger, Metrics } from '@steward/observability';
import { runWhileLeading, Waker } from '../leadership.loop';
import { applyReplayEvent } from './replay.projection';
import { storeSelection } from './replay.selection';

export interface ReplayPublisherOptions {
  /** The relay whose lag replays yield to (its checkpoint name) and whose lock names ours. */
  relayName: string;
  /** Events read and published per page; replays take turns a page at a time. */
  pageSize: number;
  /** A `replay.progressed` at most every this many events ... */
  progressEvery: number;
  /** ... or this many ms, whichever comes first. */
  progressMs: number;
  /** Poll for new replays (and completions) when idle; a start on this replica wakes it at once. */
  pollMs: number;
  lockRetryMs: number;
  /** Replays pause while the relay is more than this many positions behind the store head. */
  relayLagLimit: number;
  /** How long a paused replay waits before looking at the relay again. */
  yieldMs: number;
}

export interface ReplayPublisherDeps {
  databaseUrl: string;
  /** The replay's own pool: replay reads never hold connections the relay needs. */
  pool: Pool;
  /** On the replay's own NATS connection: relay publishes never queue behind replay pages. */
  js: JetStreamClient;
  subjects: Subjects;
  /** With the registry, for the ledger's own replay events. */
  store: EventStore;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
}

export type ReplayPublisherState = 'idle' | 'standby' | 'active' | 'stopped';

interface ActiveReplay {
  replayId: string;
  selection: EventSelection;
  total: number;
  published: number;
  upTo: Cursor;
  cursor: Cursor;
  startedAt: Date;
}

interface ActiveRow {
  replay_id: string;
  kind: 'backfill' | 'rebuild';
  selection: ReplaySelection;
  total: string;
  up_to_transaction: string;
  up_to_position: string;
  started_at: Date;
  transaction_id: string;
  global_position: string;
  published: string;
}

type Page = { events: EncodedEvent[]; cursor: Cursor; done: boolean };

/** How long one round publishes before it looks for new replays, cancels and completions again. */
const ROUND_MS = 250;
/** How stale the relay-lag reading may be. */
const RELAY_CHECK_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Publishes active replays: for each, the selected stored events from its
 * checkpoint up to its frozen `upTo`, in commit-safe order, each envelope
 * unchanged on `steward.replay.<replayId>.<type>` with Nats-Msg-Id
 * `<replayId>:<eventId>`. The checkpoint (and the published count) moves
 * only after JetStream acknowledged the whole page, in one transaction with
 * the progress event, so a killed ledger resumes at most one page back and
 * the stream's duplicate window absorbs the overlap. Replays take turns a
 * page at a time and pause while the relay is behind: live traffic first.
 * One publisher at a time across replicas (its own advisory lock).
 */
export class ReplayPublisher {
  private state: ReplayPublisherState = 'idle';
  private stopping = false;
  private loop?: Promise<void>;
  private readonly waker: Waker;
  /** When each replay last recorded progress, and at which count (in memory: a restart just records a little early). */
  private readonly lastProgress = new Map<string, { at: number; published: number }>();
  private readonly relayCheckpoints: CheckpointStore;
  private readonly readAhead = new Map<string, { from: Cursor; page: Promise<Page> }>();
  private relayCheck?: { at: number; behind: boolean };
  private readonly now: () => Date;
  private readonly m;

  constructor(
    private readonly deps: ReplayPublisherDeps,
    private readonly options: ReplayPublisherOptions,
  ) {
    this.relayCheckpoints = new CheckpointStore(deps.pool);
    this.waker = new Waker(options.pollMs);
    this.now = deps.now ?? (() => new Date());
    const { metrics } = deps;
    this.m = {
      published: metrics.counter('steward_replay_published_total', 'Events published onto replay subjects'),
      duplicates: metrics.counter('steward_replay_duplicates_total', 'Replay publishes JetStream reported as duplicates (resumed pages)'),
      active: metrics.gauge('steward_replay_active', 'Replays still publishing'),
      lag: metrics.gauge('steward_replay_lag_events', 'Selected events not yet published, over all active replays'),
      yields: metrics.counter('steward_replay_yields_total', 'Rounds a replay paused because the relay was behind'),
      leader: metrics.gauge('steward_replay_leader', '1 while this replica holds the replay lock'),
      page: metrics.histogram('steward_replay_page_seconds', 'Time to publish one replay page and save its checkpoint'),
      errors: metrics.counter('steward_replay_errors_total', 'Replay rounds that failed and were retried'),
    };
  }

  get status(): ReplayPublisherState {
    return this.state;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.state = 'standby';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.signal();
    await this.loop;
    this.loop = undefined;
    this.state = 'stopped';
  }

  /** A replay started (or changed) here: look now instead of at the next poll. */
  signal(): void {
    this.waker.signal();
  }

  private run(): Promise<void> {
    return runWhileLeading(
      {
        databaseUrl: this.deps.databaseUrl,
        applicationName: `steward-${this.options.relayName}-replay`,
        lockKey: `steward.replay.${this.options.relayName}`,
        lockRetryMs: this.options.lockRetryMs,
        role: 'replay publisher',
        logger: this.deps.logger,
        metrics: this.m,
      },
      {
        stopping: () => this.stopping,
        setState: (state) => {
          this.state = state;
        },
        onFailure: () => {
          for (const id of [...this.readAhead.keys()]) this.dropReadAhead(id);
        },
        lead: async (lockClient, ready) => {
          ready();
          while (!this.stopping) {
            // The lock lives with its session: a dead lock connection means another replica may lead now.
            await lockClient.query('SELECT 1');
            const worked = await this.round();
            if (!worked) await this.idle();
          }
        },
      },
    );
  }

  /**
   * Pages of every active replay, in turn (one page each, again and again),
   * for up to ROUND_MS; then the next round picks up new replays, cancels and
   * completions. False when there was nothing to do.
   */
  private async round(): Promise<boolean> {
    await this.collectCompletions();
    let active = await this.activeReplays();
    this.m.active.set(active.length);
    this.m.lag.set(active.reduce((n, r) => n + Math.max(0, r.total - r.published), 0));
    if (active.length === 0) return false;
    const deadline = Date.now() + ROUND_MS;
    while (active.length > 0 && Date.now() < deadline && !this.stopping) {
      const next: ActiveReplay[] = [];
      for (const replay of active) {
        if (this.stopping) break;
        if (await this.relayBehind()) {
          this.m.yields.inc();
          await sleep(this.options.yieldMs);
          return true;
        }
        if (await this.publishPage(replay)) next.push(replay);
      }
      active = next;
    }
    return true;
  }

  /** Whether the relay has more than `relayLagLimit` committed positions still to publish (looked up at most every RELAY_CHECK_MS). */
  private async relayBehind(): Promise<boolean> {
    const now = Date.now();
    if (this.relayCheck && now - this.relayCheck.at < RELAY_CHECK_MS) return this.relayCheck.behind;
    const [head, relay] = await Promise.all([commitSafeHead(this.deps.pool), this.relayCheckpoints.load(this.options.relayName)]);
    const behind = head.globalPosition - relay.globalPosition > BigInt(this.options.relayLagLimit);
    this.relayCheck = { at: now, behind };
    return behind;
  }

  private async activeReplays(): Promise<ActiveReplay[]> {
    const { rows } = await this.deps.pool.query<ActiveRow>(
      `SELECT r.replay_id, r.kind, r.selection, r.total, r.up_to_transaction, r.up_to_position, r.started_at,
          c.transaction_id, c.global_position, c.published
        FROM ledger_replays r JOIN ledger_replay_checkpoints c USING (replay_id)
        WHERE r.state = 'publishing' ORDER BY r.started_at, r.replay_id`,
    );
    return rows.map((r) => ({
      replayId: r.replay_id,
      selection: storeSelection(r.kind, r.selection),
      total: Number(r.total),
      published: Number(r.published),
      upTo: { transactionId: BigInt(r.up_to_transaction), globalPosition: BigInt(r.up_to_position) },
      cursor: { transactionId: BigInt(r.transaction_id), globalPosition: BigInt(r.global_position) },
      startedAt: r.started_at,
    }));
  }

  /** Publishes one page and saves the checkpoint; true while the replay has more to publish. */
  private async publishPage(r: ActiveReplay): Promise<boolean> {
    const end = this.m.page.startTimer();
    const page = await this.read(r);
    // More is waiting: read it while this page publishes, so Postgres and JetStream work at the same time.
    if (!page.done) {
      const ahead = this.fetch(r, page.cursor);
      // Handled where it is awaited (read); until then a failed read-ahead must not be an unhandled rejection, which ends the process.
      ahead.catch(() => undefined);
      this.readAhead.set(r.replayId, { from: page.cursor, page: ahead });
    }
    const acks = await Promise.all(page.events.map((e) => this.publish(r.replayId, e)));
    const published = r.published + page.events.length;
    const committed = await unitOfWork(this.deps.pool, async (tx) => {
      // Ordered against a cancel: a replay cancelled meanwhile keeps its state and its checkpoint.
      const { rows } = await tx.query<{ state: string }>('SELECT state FROM ledger_replays WHERE replay_id = $1 FOR UPDATE', [r.replayId]);
      if (rows[0]?.state !== 'publishing') return false;
      // Only from where this publisher read: a replica that lost the lock mid-round must not move it back.
      const moved = await tx.query(
        `UPDATE ledger_replay_checkpoints SET transaction_id = $2::xid8, global_position = $3, published = $4, updated_at = now()
          WHERE replay_id = $1 AND transaction_id = $5::xid8 AND global_position = $6`,
        [r.replayId, page.cursor.transactionId.toString(), page.cursor.globalPosition.toString(), published, r.cursor.transactionId.toString(), r.cursor.globalPosition.toString()],
      );
      if (moved.rowCount !== 1) return false;
      if (page.done) await this.recordPublished(tx, r, published);
      else await this.maybeRecordProgress(tx, r, published, page.cursor);
      return true;
    });
    end();
    const duplicates = acks.filter((a) => a.duplicate).length;
    this.m.published.inc(page.events.length - duplicates);
    if (duplicates > 0) this.m.duplicates.inc(duplicates);
    if (!committed || page.done) this.dropReadAhead(r.replayId);
    if (!committed) {
      this.deps.logger.info('replay page not recorded: cancelled, or another replica moved its checkpoint', { replayId: r.replayId });
      return false;
    }
    r.cursor = page.cursor;
    r.published = published;
    if (page.done) this.deps.logger.info('replay published', { replayId: r.replayId, published, total: r.total });
    return !page.done;
  }

  /** The page read ahead when it starts where the replay is, else a fresh read. */
  private read(r: ActiveReplay): Promise<Page> {
    const ahead = this.readAhead.get(r.replayId);
    this.readAhead.delete(r.replayId);
    if (ahead && compareCursors(ahead.from, r.cursor) === 0) return ahead.page;
    ahead?.page.catch(() => undefined); // stale (a failed round moved us back): drop it quietly
    return this.fetch(r, r.cursor);
  }

  private fetch(r: ActiveReplay, from: Cursor): Promise<Page> {
    return readSelectionEncoded(this.deps.pool, r.selection, from, r.upTo, this.options.pageSize);
  }

  private dropReadAhead(replayId: string): void {
    this.readAhead.get(replayId)?.page.catch(() => undefined);
    this.readAhead.delete(replayId);
  }

  /** Same bytes and headers as the relay's publish, on the replay's subject, deduplicated per replay. */
  private publish(replayId: string, e: EncodedEvent): Promise<PubAck> {
    const subject = this.deps.subjects.replay(replayId, e.type);
    const msgID = `${replayId}:${e.id}`;
    if (e.causationId === undefined && e.traceparent === undefined) return this.deps.js.publish(subject, e.envelope, { msgID });
    const headers = natsHeaders();
    if (e.causationId !== undefined) headers.set(Headers.CausationId, e.causationId);
    if (e.traceparent !== undefined) headers.set(Headers.Traceparent, e.traceparent);
    return this.deps.js.publish(subject, e.envelope, { msgID, headers });
  }

  private async maybeRecordProgress(tx: Queryable, r: ActiveReplay, published: number, cursor: Cursor): Promise<void> {
    const last = this.lastProgress.get(r.replayId) ?? { at: 0, published: r.published };
    const now = this.now();
    if (published - last.published < this.options.progressEvery && now.getTime() - last.at < this.options.progressMs) return;
    const data: EventData<typeof ReplayProgressed> = {
      replayId: r.replayId,
      published,
      total: r.total,
      cursor: { transactionId: cursor.transactionId.toString(), position: cursor.globalPosition.toString() },
      at: now.toISOString(),
    };
    await this.append(tx, r.replayId, ReplayProgressed.type, data);
    this.lastProgress.set(r.replayId, { at: now.getTime(), published });
  }

  private async recordPublished(tx: Queryable, r: ActiveReplay, published: number): Promise<void> {
    const now = this.now();
    const data: EventData<typeof ReplayPublished> = {
      replayId: r.replayId,
      published,
      total: r.total,
      durationMs: Math.max(0, now.getTime() - r.startedAt.getTime()),
      at: now.toISOString(),
    };
    await this.append(tx, r.replayId, ReplayPublished.type, data);
    this.lastProgress.delete(r.replayId);
  }

  private async append(tx: Queryable, replayId: string, type: string, data: unknown): Promise<void> {
    const { events } = await this.deps.store.append(`replay-${replayId}`, [{ type, data, metadata: { correlationId: replayId } }], { expected: 'any', tx });
    for (const e of events) await applyReplayEvent(tx, e);
  }

  /**
   * The consumer's side of a backfill: the transformer appends
   * `transformation.replay_completed` when it applied the whole replay, or
   * `replay.failed` when it cannot (a transform it does not have); fold them
   * into the projection so `replay status` shows it completed or failed (a
   * failed replay is no longer published).
   */
  private async collectCompletions(): Promise<void> {
    const { rows: waiting } = await this.deps.pool.query<{ replay_id: string }>(
      "SELECT replay_id FROM ledger_replays WHERE state IN ('publishing', 'published') AND kind = 'backfill'",
    );
    if (waiting.length === 0) return;
    const { rows } = await this.deps.pool.query<{ type: string; data: unknown; occurred_at: Date }>(
      `SELECT type, data, occurred_at FROM events WHERE type = ANY($1::text[]) AND data->>'replayId' = ANY($2::text[])
        ORDER BY transaction_id, global_position`,
      [[TransformationReplayCompleted.type, ReplayFailed.type], waiting.map((w) => w.replay_id)],
    );
    if (rows.length === 0) return;
    await unitOfWork(this.deps.pool, async (tx) => {
      for (const row of rows) await applyReplayEvent(tx, { type: row.type, data: row.data, occurredAt: row.occurred_at });
    });
  }

  private idle(): Promise<void> {
    return this.waker.idle();
  }
}
