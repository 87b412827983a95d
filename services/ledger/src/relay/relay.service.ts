import type { Pool } from 'pg';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventRegistry, Subjects } from '@steward/contracts';
import { CheckpointStore, compareCursors, EVENTS_CHANNEL, EventStore, WakeupGate, type Cursor, type EncodedEvent } from '@steward/event-store';
import type { Logger, Metrics } from '@steward/observability';
import { runWhileLeading, Waker } from '../leadership.loop';
import { RelayPublisher } from './relay.publisher';

export interface RelayOptions {
  name: string;
  batchSize: number;
  pollMs: number;
  lockRetryMs: number;
}

export interface RelayDeps {
  databaseUrl: string;
  pool: Pool;
  nc: NatsConnection;
  jsm: JetStreamManager;
  subjects: Subjects;
  /** Routes (the last subject token) come from the registry; without one, events go unrouted. */
  registry?: EventRegistry;
  logger: Logger;
  metrics: Metrics;
}

export type RelayState = 'idle' | 'standby' | 'active' | 'stopped';

type Page = { events: EncodedEvent[]; cursor: Cursor };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lag gauge is a head read of its own: at most this often, not after every empty page. */
const LAG_REFRESH_MS = 1_000;

/**
 * Tails the event store in commit-safe order and publishes every event to
 * JetStream with Nats-Msg-Id = event id. The checkpoint only moves after
 * JetStream acknowledged the whole batch, so a crash re-publishes at most one
 * batch, which the stream's duplicate window (and the tail check at start)
 * absorbs. One active relay at a time: the session advisory lock is held on
 * the same connection that LISTENs, so a dead leader loses both at once.
 */
export class RelayService {
  private state: RelayState = 'idle';
  private stopping = false;
  private loop?: Promise<void>;
  private readonly waker: Waker;
  private cursor?: Cursor;
  private readAhead?: { from: Cursor; page: Promise<Page> };
  private readonly routedTypes: string[];
  private readonly store: EventStore;
  private readonly checkpoints: CheckpointStore;
  private readonly publisher: RelayPublisher;
  private readonly m;
  private lagReadAt = 0;

  constructor(
    private readonly deps: RelayDeps,
    private readonly options: RelayOptions,
  ) {
    this.store = new EventStore(deps.pool);
    this.waker = new Waker(options.pollMs);
    this.routedTypes = (deps.registry?.all() ?? []).filter((d) => d.route !== undefined).map((d) => d.type);
    this.checkpoints = new CheckpointStore(deps.pool);
    this.publisher = new RelayPublisher(deps.nc, deps.subjects);
    const { metrics } = deps;
    this.m = {
      published: metrics.counter('steward_relay_published_total', 'Events the relay published to JetStream'),
      duplicates: metrics.counter('steward_relay_duplicates_total', 'Publishes JetStream reported as duplicates'),
      lag: metrics.gauge('steward_relay_lag_events', 'Global positions between the relay checkpoint and the store head'),
      leader: metrics.gauge('steward_relay_leader', '1 while this replica holds the relay lock'),
      batch: metrics.histogram('steward_relay_batch_seconds', 'Time to publish one batch and save the checkpoint'),
      errors: metrics.counter('steward_relay_errors_total', 'Relay rounds that failed and were retried'),
    };
  }

  get status(): RelayState {
    return this.state;
  }

  get position(): Cursor | undefined {
    return this.cursor;
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
    this.publisher.close();
    this.loop = undefined;
    this.state = 'stopped';
  }

  private signal(): void {
    this.waker.signal();
  }

  private run(): Promise<void> {
    return runWhileLeading(
      {
        databaseUrl: this.deps.databaseUrl,
        applicationName: `steward-${this.options.name}`,
        lockKey: `steward.relay.${this.options.name}`,
        lockRetryMs: this.options.lockRetryMs,
        role: 'relay',
        logger: this.deps.logger,
        metrics: this.m,
      },
      {
        stopping: () => this.stopping,
        setState: (state) => {
          this.state = state;
        },
        onFailure: () => {
          this.readAhead?.page.catch(() => undefined);
          this.readAhead = undefined;
          this.publisher.close();
        },
        lead: async (lockClient, ready) => {
          lockClient.on('notification', () => this.signal());
          await lockClient.query(`LISTEN ${EVENTS_CHANNEL}`);
          this.cursor = await this.recoverCursor();
          ready();
          const gate = new WakeupGate(lockClient);
          let polling = false;
          while (!this.stopping) {
            // A partial page was everything commit-safe when it was read: arming next (and reading once more
            // after it) finds what committed since, so an empty read in between would only repeat the read after.
            const read = await this.drainOnce(this.cursor);
            if (read === this.options.batchSize) continue;
            // Arming failed and events still come: appends are still in flight, so arming would fail
            // again (a statement per 5 ms poll for nothing); poll until a read finds nothing new.
            if (polling && read > 0) {
              await sleep(5);
              continue;
            }
            // Appends notify only while the gate is armed (NOTIFY serialises commits);
            // arming fails while an append that skipped its notification is open.
            polling = !(await gate.arm());
            if (polling) {
              await sleep(5);
              continue;
            }
            try {
              if ((await this.drainOnce(this.cursor)) > 0) continue;
              // Committed events held back by an older open transaction: no NOTIFY will come for them.
              if (await this.store.committedAfter(this.cursor)) {
                await sleep(20);
                continue;
              }
              await this.idle();
            } finally {
              await gate.disarm();
            }
          }
        },
      },
    );
  }

  /**
   * The checkpoint, or the stream's tail when that is further: a relay killed
   * after the publish was acknowledged but before the checkpoint was saved
   * resumes after what JetStream already holds, even past the dedupe window
   * (the envelope carries its transactionid and globalposition).
   */
  private async recoverCursor(): Promise<Cursor> {
    const saved = await this.checkpoints.load(this.options.name);
    const stream = this.deps.subjects.stream('EVENTS');
    const info = await this.deps.jsm.streams.info(stream).catch(() => undefined);
    if (!info || info.state.last_seq === 0) return saved;
    const last = await this.deps.jsm.streams.getMessage(stream, { seq: info.state.last_seq }).catch(() => undefined);
    const { transactionid: tx, globalposition: pos } = tailCursorOf(last?.data);
    if (!tx || !pos) return saved;
    const tail: Cursor = { transactionId: BigInt(tx), globalPosition: BigInt(pos) };
    if (compareCursors(tail, saved) <= 0) return saved;
    this.deps.logger.info('relay resumes from the stream tail', { checkpoint: show(saved), tail: show(tail) });
    await this.checkpoints.save(this.options.name, tail);
    return tail;
  }

  /** Publishes one batch (pipelined) and advances the checkpoint; returns how many events it read. */
  private async drainOnce(from: Cursor): Promise<number> {
    const { events, cursor } = await this.read(from);
    if (events.length === 0) {
      await this.updateLag(from);
      return 0;
    }
    // A full page means more is waiting: read it while this one publishes, so
    // Postgres and JetStream work at the same time instead of taking turns.
    if (events.length === this.options.batchSize) {
      const ahead = this.fetch(cursor);
      // Handled where it is awaited; until then a failed read-ahead must not be an unhandled rejection, which ends the process.
      ahead.catch(() => undefined);
      this.readAhead = { from: cursor, page: ahead };
    }
    const end = this.m.batch.startTimer();
    const acks = await this.publisher.publishAll(events.map((e) => this.routed(e)));
    await this.checkpoints.save(this.options.name, cursor);
    end();
    this.cursor = cursor;
    const duplicates = acks.filter((a) => a.duplicate).length;
    this.m.published.inc(events.length - duplicates);
    if (duplicates > 0) this.m.duplicates.inc(duplicates);
    this.deps.logger.debug('relay batch published', { count: events.length, duplicates, position: show(cursor) });
    return events.length;
  }

  /** The page read ahead when it starts where we are, else a fresh read. */
  private read(from: Cursor): Promise<Page> {
    const ahead = this.readAhead;
    this.readAhead = undefined;
    if (ahead && compareCursors(ahead.from, from) === 0) return ahead.page;
    ahead?.page.catch(() => undefined); // stale (a failed round moved us back): drop it quietly
    return this.fetch(from);
  }

  private fetch(from: Cursor): Promise<Page> {
    return this.store.readAllEncoded(from, { limit: this.options.batchSize, routedTypes: this.routedTypes });
  }

  private routed(e: EncodedEvent): EncodedEvent & { route?: string } {
    const route = e.routingData === undefined ? undefined : this.deps.registry?.routeOf(e.type, e.routingData);
    return route === undefined ? e : { ...e, route };
  }

  private async updateLag(cursor: Cursor): Promise<void> {
    const now = Date.now();
    if (now - this.lagReadAt < LAG_REFRESH_MS) return;
    this.lagReadAt = now;
    const head = await this.store.headPosition();
    this.m.lag.set(Number(head.globalPosition > cursor.globalPosition ? head.globalPosition - cursor.globalPosition : 0n));
  }

  private idle(): Promise<void> {
    return this.waker.idle();
  }
}

/** The cursor in a relayed envelope's body; anything else (not from the relay) has none. */
function tailCursorOf(data: Uint8Array | undefined): { transactionid?: string; globalposition?: string } {
  if (!data) return {};
  try {
    const body = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
    const digits = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? v : undefined);
    return { transactionid: digits(body.transactionid), globalposition: digits(body.globalposition) };
  } catch {
    return {};
  }
}

function show(c: Cursor): string {
  return `${c.transactionId}/${c.globalPosition}`;
}
