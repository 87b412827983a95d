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
}

interface Decoded extends ReplayedMessage {
  msg: JsMsg;
  metadata: ReturnType<typeof causedBy>;
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

  private async loop(): Promise<void> {
    while (this.running) {
      let msgs: JsMsg[] = [];
      try {
        const iter = await this.consumer!.fetch({ max_messages: this.options.batch, expires: this.options.fetchExpiresMs ?? 1_000 });
        for await (const m of iter) msgs.push(m);
      } catch (err) {
        if (!this.running) break;
        this.log.warn('replay fetch failed, retrying', { err });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (msgs.length === 0) continue;
      try {
        await this.handle(msgs);
      } catch (err) {
        // The transaction rolled back: everything comes back and the inbox sorts out what committed.
        this.log.error('replay batch failed, will retry', { err, messages: msgs.length });
        this.handled?.inc({ outcome: 'retry' }, msgs.length);
        for (const m of msgs) m.nak(1_000);
      }
      msgs = [];
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
    if (byReplay.size === 0) return;
    const ids = [...byReplay.keys()];
    const known = await this.replays.find(this.pool, ids);
    const foreign = known.size === ids.length ? new Set<string>() : await this.replays.foreign(this.pool, ids);
    for (const [replayId, items] of byReplay) {
      const replay = known.get(replayId);
      if (foreign.has(replayId)) {
        for (const d of items) d.msg.ack();
        this.handled?.inc({ outcome: 'skipped' }, items.length);
        continue;
      }
      if (!replay) {
        // replay.started comes through the events stream and may not be projected yet.
        for (const d of items) d.msg.nak(this.options.unknownReplayDelayMs ?? 1_000);
        this.handled?.inc({ outcome: 'waiting' }, items.length);
        continue;
      }
      await unitOfWork(this.pool, async (tx) => {
        // One inbox claim for the whole group: what comes back is what this transaction owns.
        const { rows } = await tx.query<{ message_id: string }>({
          name: 'transformer_replay_inbox',
          text: 'INSERT INTO inbox (consumer, message_id) SELECT $1, m FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING RETURNING message_id',
          values: [REPLAY_CONSUMER, items.map((d) => d.messageId)],
        });
        const claimed = new Set(rows.map((r) => r.message_id));
        const fresh = items.filter((d) => claimed.delete(d.messageId));
        if (fresh.length > 0) await this.service.applyBatch(tx, (await this.replays.find(tx, [replayId])).get(replayId)!, fresh, fresh[0]!.metadata);
      });
      for (const d of items) d.msg.ack();
      this.handled?.inc({ outcome: 'success' }, items.length);
    }
  }

  private decode(msg: JsMsg): Decoded | { msg: JsMsg; err: unknown } {
    const replayId = this.replayIdOf(msg.subject);
    try {
      if (replayId === undefined) throw new Error(`subject ${msg.subject} is not a replay subject`);
      const envelope = parseReplayed(msg);
      const metadata = causedBy(envelope);
      const messageId = `${replayId}:${envelope.id}`;
      if (envelope.type !== RawCaptured.type) return { msg, replayId, messageId, metadata };
      // The store validated the capture when it was appended and the ledger re-publishes it
      // unchanged: a current-version capture is only checked for what the transformer reads.
      // An older version is lifted (and validated) by the registry.
      const capture = envelope.dataschemaversion === RawCaptured.version ? replayedCapture(envelope.id, envelope.data) : (this.registry.upcast(envelope.type, envelope.dataschemaversion, envelope.data).data as Capture);
      return { msg, replayId, messageId, capture, metadata };
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
    const prefix = `${this.subjects.prefix}.replay.`;
    if (!subject.startsWith(prefix)) return undefined;
    const id = subject.slice(prefix.length).split('.')[0];
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
