import { jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { causedBy, RawCaptured, type EventEnvelope, type EventRegistry, type Subjects } from '@steward/contracts';
import { unitOfWork } from '@steward/event-store';
import { provisionConsumer, publishDeadLetter } from '@steward/messaging';
import type { Logger, Metrics } from '@steward/observability';
import type { Capture } from '../captures/capture.transformer';
import type { ReplayRepository } from './replay.repository';
import { REPLAY_CONSUMER, type ReplayedMessage, type ReplayService } from './replay.service';

export interface ReplayConsumerOptions {
  batch: number;
  concurrency: number;
  ackWaitMs: number;
  /** How long a message of a replay whose replay.started has not arrived yet waits before it comes back. */
  unknownReplayDelayMs?: number;
  fetchExpiresMs?: number;
  /** A fetch quiet this long has what it holds applied without waiting for the rest of its batch (default 20). */
  idleFlushMs?: number;
}

const IDLE = Symbol('idle');

/** Resolves once `ms` have passed since the last arrival (re-armed while messages keep coming). */
function quietFor(ms: number, lastArrival: () => number): Promise<typeof IDLE> {
  return new Promise((resolve) => {
    const check = () => {
      const wait = lastArrival() + ms - performance.now();
      if (wait <= 0) resolve(IDLE);
      else setTimeout(check, Math.ceil(wait));
    };
    check();
  });
}

interface Decoded extends ReplayedMessage {
  msg: JsMsg;
  /** The replayed envelope: what the batch's events are caused by (its first fresh one). */
  cause: EventEnvelope;
}

/**
 * The replay consumer: durable `transformer-replay` on the REPLAY stream,
 * separate from the live consumer (its own fetch loops, concurrency and
 * connections from the pool), so a backfill never delays live captures.
 * Messages are fetched in batches and each replay's part of a batch is
 * applied in one transaction, then acked: a kill mid-batch redelivers it and
 * the inbox skips what committed, so no row is written twice.
 */
export class ReplayConsumer {
  private running = false;
  private loops: Promise<void>[] = [];
  private consumer: Consumer | undefined;
  private readonly handled: ReturnType<Metrics['counter']> | undefined;
  private readonly replayPrefix: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly registry: EventRegistry,
    private readonly pool: Pool,
    private readonly replays: ReplayRepository,
    private readonly service: ReplayService,
    private readonly options: ReplayConsumerOptions,
    private readonly log: Logger,
    metrics?: Metrics,
  ) {
    this.replayPrefix = `${subjects.prefix}.replay.`;
    this.handled = metrics?.counter('steward_transformer_replayed_total', 'Replayed messages by outcome', ['outcome'] as const);
  }

  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const stream = this.subjects.stream('REPLAY');
    await provisionConsumer(
      jsm,
      stream,
      { durable_name: REPLAY_CONSUMER, filter_subject: this.subjects.replays(), ack_wait: nanos(this.options.ackWaitMs), max_deliver: -1, max_ack_pending: this.options.batch * this.options.concurrency * 2 },
      this.log,
    );
    this.consumer = await jetstream(this.nc).consumers.get(stream, REPLAY_CONSUMER);
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
  }

  isRunning(): boolean {
    return this.running;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  /**
   * One fetch loop. A pull holds out until its batch is full or it expires
   * (at least a second), so what has arrived is applied as soon as the pull
   * goes quiet for `idleFlushMs`, and the pull keeps feeding the next part:
   * the last, partial batch of a replay never waits out the expiry.
   */
  private async loop(): Promise<void> {
    const idleMs = this.options.idleFlushMs ?? 20;
    while (this.running) {
      let pending: JsMsg[] = [];
      try {
        const iter = await this.consumer!.fetch({ max_messages: this.options.batch, expires: this.options.fetchExpiresMs ?? 1_000 });
        const it = iter[Symbol.asyncIterator]();
        // Marked handled: an iterator failure while a part is being applied surfaces at the next await.
        const pull = () => {
          const p = it.next();
          p.catch(() => undefined);
          return p;
        };
        let next = pull();
        let lastArrival = 0;
        let idle: Promise<typeof IDLE> | undefined;
        for (;;) {
          let r: IteratorResult<JsMsg> | typeof IDLE;
          if (pending.length === 0) {
            r = await next;
          } else {
            idle ??= quietFor(idleMs, () => lastArrival);
            r = await Promise.race([next, idle]);
          }
          if (r === IDLE) {
            idle = undefined;
            const part = pending;
            pending = [];
            await this.apply(part);
            continue;
          }
          if (r.done) break;
          pending.push(r.value);
          lastArrival = performance.now();
          next = pull();
          if (pending.length >= this.options.batch) {
            const part = pending;
            pending = [];
            await this.apply(part);
          }
        }
      } catch (err) {
        if (!this.running) break;
        this.log.warn('replay fetch failed, retrying', { err });
        await this.apply(pending);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      await this.apply(pending);
    }
  }

  private async apply(msgs: JsMsg[]): Promise<void> {
    if (msgs.length === 0) return;
    try {
      await this.handle(msgs);
    } catch (err) {
      // The transaction rolled back: everything comes back and the inbox sorts out what committed.
      this.log.error('replay batch failed, will retry', { err, messages: msgs.length });
      this.handled?.inc({ outcome: 'retry' }, msgs.length);
      for (const m of msgs) m.nak(1_000);
    }
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    // Decode synchronously (no await per message), grouping by replay as we go.
    const byReplay = new Map<string, Decoded[]>();
    const unreadable: Array<{ msg: JsMsg; err: unknown }> = [];
    for (const msg of msgs) {
      const d = this.decode(msg);
      if ('err' in d) {
        unreadable.push(d);
        continue;
      }
      const group = byReplay.get(d.replayId);
      if (group) group.push(d);
      else byReplay.set(d.replayId, [d]);
    }
    for (const { msg, err } of unreadable) await this.deadLetter(msg, err);
    for (const [replayId, items] of byReplay) {
      // One transaction per replay's part: its state with one inbox claim for every message, then the work.
      const outcome = await unitOfWork(this.pool, async (tx): Promise<'applied' | 'foreign' | 'unknown'> => {
        const { replay, claimed } = await this.replays.claim(tx, replayId, REPLAY_CONSUMER, items.map((d) => d.messageId));
        if (!replay) return (await this.replays.foreign(tx, [replayId])).has(replayId) ? 'foreign' : 'unknown';
        const fresh = items.filter((d) => claimed.delete(d.messageId));
        if (fresh.length > 0) await this.service.applyBatch(tx, replay, fresh, causedBy(fresh[0]!.cause));
        return 'applied';
      });
      if (outcome === 'unknown') {
        // replay.started comes through the events stream and may not be projected yet.
        for (const d of items) d.msg.nak(this.options.unknownReplayDelayMs ?? 1_000);
        this.handled?.inc({ outcome: 'waiting' }, items.length);
        continue;
      }
      for (const d of items) d.msg.ack();
      this.handled?.inc({ outcome: outcome === 'foreign' ? 'skipped' : 'success' }, items.length);
    }
  }

  private decode(msg: JsMsg): Decoded | { msg: JsMsg; err: unknown } {
    const replayId = this.replayIdOf(msg.subject);
    try {
      if (replayId === undefined) throw new Error(`subject ${msg.subject} is not a replay subject`);
      const envelope = parseReplayed(msg);
      const messageId = `${replayId}:${envelope.id}`;
      if (envelope.type !== RawCaptured.type) return { msg, replayId, messageId, cause: envelope };
      // The store validated the capture when it was appended and the ledger re-publishes it
      // unchanged: a current-version capture is only checked for what the transformer reads.
      // An older version is lifted (and validated) by the registry.
      const capture = envelope.dataschemaversion === RawCaptured.version ? replayedCapture(envelope.id, envelope.data) : (this.registry.upcast(envelope.type, envelope.dataschemaversion, envelope.data).data as Capture);
      return { msg, replayId, messageId, capture, cause: envelope };
    } catch (err) {
      return { msg, err };
    }
  }

  /** A message that can never be read must not block its replay's batches: dead-letter it. */
  private async deadLetter(msg: JsMsg, err: unknown): Promise<void> {
    this.log.error('replayed message unreadable, dead-lettered', { subject: msg.subject, seq: msg.seq, err });
    await publishDeadLetter(
      jetstream(this.nc),
      this.subjects,
      { subject: msg.subject, data: msg.data, headers: msg.headers, stream: this.subjects.stream('REPLAY'), streamSequence: msg.info.streamSequence, deliveryCount: msg.info.deliveryCount },
      REPLAY_CONSUMER,
      'schema_invalid',
      err,
    );
    msg.term('unreadable');
    this.handled?.inc({ outcome: 'dead_letter' });
  }

  private replayIdOf(subject: string): string | undefined {
    const prefix = this.replayPrefix;
    if (!subject.startsWith(prefix)) return undefined;
    const end = subject.indexOf('.', prefix.length);
    const id = end === -1 ? subject.slice(prefix.length) : subject.slice(prefix.length, end);
    return id === '' ? undefined : id;
  }
}

/**
 * The envelope of a replayed event, checked only for what this consumer
 * reads: the store validated every envelope when it was appended and the
 * ledger re-publishes it unchanged, and the capture itself is validated
 * against its schema by the registry's upcast. Saves a full envelope schema
 * pass per message on the backfill's hot path.
 */
export function parseReplayed(msg: Pick<JsMsg, 'string'>): EventEnvelope {
  const e = JSON.parse(msg.string()) as Partial<EventEnvelope> | null;
  if (typeof e !== 'object' || e === null) throw new Error('replayed message is not a JSON object');
  if (typeof e.id !== 'string' || e.id === '') throw new Error('replayed envelope has no id');
  if (typeof e.type !== 'string' || e.type === '') throw new Error(`replayed envelope ${e.id} has no type`);
  if (!Number.isInteger(e.dataschemaversion)) throw new Error(`replayed envelope ${e.id} has no dataschemaversion`);
  if (typeof e.correlationid !== 'string' || e.correlationid === '') throw new Error(`replayed envelope ${e.id} has no correlationid`);
  return e as EventEnvelope;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/;
/** What the schema's `z.iso.datetime({ offset: true })` accepts: a time Postgres reads the same way. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The fields of a replayed current-version capture the transformer reads,
 * checked by hand (a full schema pass per message was a tenth of the
 * backfill's CPU): what is wrong is named by its path under `data`.
 */
export function replayedCapture(eventId: string, data: unknown): Capture {
  const fail = (path: string, expected: string): never => {
    throw new Error(`replayed capture ${eventId}: data${path === '' ? '' : `.${path}`} is not ${expected}`);
  };
  if (typeof data !== 'object' || data === null) return fail('', 'an object');
  const c = data as Record<string, unknown>;
  if (typeof c.captureId !== 'string' || !UUID.test(c.captureId)) fail('captureId', 'a uuid');
  if (typeof c.source !== 'string' || c.source === '') fail('source', 'a source name');
  if (typeof c.contentType !== 'string') fail('contentType', 'a string');
  if (typeof c.capturedAt !== 'string' || !ISO_TIME.test(c.capturedAt) || Number.isNaN(Date.parse(c.capturedAt))) fail('capturedAt', 'an ISO-8601 time');
  const body = c.body as Record<string, unknown> | null | undefined;
  if (typeof body !== 'object' || body === null) return fail('body', 'an object');
  if (body.storage === 'inline') {
    if (body.encoding !== 'utf8' && body.encoding !== 'base64') fail('body.encoding', 'utf8 or base64');
    if (typeof body.data !== 'string') fail('body.data', 'a string');
  } else if (body.storage === 'blob') {
    if (typeof body.sha256 !== 'string' || !SHA256.test(body.sha256)) fail('body.sha256', 'a lowercase hex sha-256');
  } else {
    fail('body.storage', 'inline or blob');
  }
  return c as unknown as Capture;
}
