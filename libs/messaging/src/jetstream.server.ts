import { EventEmitter } from 'node:events';
import { jetstream, jetstreamManager, type Consumer, type DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { millis, nanos, type NatsConnection } from '@nats-io/transport-node';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { Headers, type EventEnvelope, type EventRegistry, type Subjects } from '@steward/contracts';
import type { Metrics } from '@steward/observability';
import { isObservable, lastValueFrom } from 'rxjs';
import { ConsumerBacklogPoller, ConsumerMetrics, type HandlingOutcome } from './consumer.metrics';
import { ConsumerWorker } from './consumer.worker';
import { publishDeadLetter, type DeadLetterReason } from './dead-letter.publisher';
import { DEFAULT_RETRY, decideFailure, retryDelayMs, type RetryPolicy } from './failure.policy';
import { JetStreamContext, type JetStreamMessageMeta } from './jetstream.context';
import { createJsonLogger, type Logger } from './json.logger';
import { inMessageSpan, recordSpanError } from './message.tracing';
import { routeMessage, type ConsumedStream } from './message.router';
import { connectNats } from './nats.connection';
import { declareTopology, provisionConsumer, provisionStreams, type TopologyOptions } from './topology.provision';

/** Lets `@EventPattern('x', JETSTREAM_TRANSPORT)` target this server in a hybrid app. */
export const JETSTREAM_TRANSPORT = Symbol('JETSTREAM');

export interface JetStreamConsumerOptions {
  /** Durable name; default: the service for EVENTS, `<service>-cmd` for COMMANDS, `<service>-replay` for REPLAY. */
  durable?: string;
  stream: ConsumedStream;
  /** ONE filter subject, built with `Subjects` (NATS 2.9 has no multi-filter consumers). */
  filter: string;
  maxDeliver?: number;
  ackWaitMs?: number;
  /**
   * Nak delays after the 1st, 2nd, ... failure (the last repeats). Applied by
   * nak(delay) rather than the consumer's `backoff` field, because on 2.9 a
   * consumer backoff also overrides ack_wait, which the keep-alive relies on.
   */
  backoffMs?: number[];
  maxAckPending?: number;
  /** Where the durable starts if this server creates it (default: all); an existing one keeps its own. */
  deliverPolicy?: DeliverPolicy;
  concurrency?: number;
  /** Batch delivery instead of one `@EventPattern` call per message (EVENTS and REPLAY consumers only). */
  batch?: BatchDelivery;
}

/** One message of a delivered batch: its envelope (upcast and validated) and its context. */
export interface BatchItem {
  envelope: EventEnvelope;
  ctx: JetStreamContext;
}

/**
 * For consumers whose handler works on many events at once (one inbox
 * transaction for a batch): the messages of one fetch, decoded and validated
 * as usual, go to `handle` in delivery order in one call, under one span and
 * one keep-alive timer, instead of one Nest handler call, span and timer
 * each. Each message still settles alone: its result fulfilled -> ack,
 * rejected -> the consumer's retry or dead-letter policy for that message.
 * Invalid envelopes and unknown types are dead-lettered and types not in
 * `types` acked and skipped, exactly as on the per-message path.
 */
export interface BatchDelivery {
  /** The event types handled; the consumer's other messages are skipped. */
  types: readonly string[];
  /** Most messages per call (default: the consumer's concurrency). */
  maxMessages?: number;
  /** A partial batch is handed over once the fetch paused this long (default 2 ms). */
  idleMs?: number;
  /** One result per item, in order (Promise.allSettled over per-item work fits). */
  handle(items: readonly BatchItem[]): Promise<ReadonlyArray<PromiseSettledResult<unknown>>>;
}

export interface JetStreamServerOptions {
  natsUrl: string;
  subjects: Subjects;
  /** Service name: default durable name and connection name. */
  service: string;
  consumers: JetStreamConsumerOptions[];
  registry: EventRegistry;
  logger?: Logger;
  /** How long close() waits for running handlers before draining the connection. */
  drainTimeoutMs?: number;
  /** Streams to create when missing (drift is only reported); false leaves streams to the ledger. */
  topology?: TopologyOptions | false;
  /** Exponential nak delay when a consumer gives no backoffMs. */
  retry?: Partial<Pick<RetryPolicy, 'baseMs' | 'maxMs'>>;
  fetchExpiresMs?: number;
  /** Use this connection instead of opening one; it is then not drained on close(). */
  connection?: NatsConnection;
  /**
   * Where the transport's series go: steward_handler_duration_seconds,
   * steward_messages_handled_total, steward_dead_letters_total and the
   * steward_consumer_pending / _ack_pending gauges. Without it nothing is counted.
   */
  metrics?: Metrics;
  /** How often the backlog gauges are refreshed from consumer info (default 5000 ms). */
  backlogIntervalMs?: number;
}

/** What the metrics and the span learn while one message is handled. */
interface Handling {
  type: string;
  outcome: HandlingOutcome;
}

interface Binding {
  durable: string;
  stream: ConsumedStream;
  streamName: string;
  /** From the live consumer, so a drifted consumer is still handled by its real limits. */
  maxDeliver: number;
  ackWaitMs: number;
  retry: RetryPolicy;
  worker: ConsumerWorker;
  batch?: { delivery: BatchDelivery; types: ReadonlySet<string> };
}

type ServerEvents = { disconnect: () => void; reconnect: () => void; error: (err: unknown) => void };

/**
 * NestJS transport over JetStream durable pull consumers, shaped like Nest's
 * ServerNats. Per message: decode, upcast, call the `@EventPattern` handler,
 * then ack; failures are naked with a growing delay or dead-lettered.
 */
export class JetStreamServer extends Server<ServerEvents> implements CustomTransportStrategy {
  override readonly transportId = JETSTREAM_TRANSPORT;
  // We await every handler and settle the message from its outcome, so Nest must not report failures again.
  override readonly propagatesEventHandlerErrors = true;

  private readonly log: Logger;
  private readonly events = new EventEmitter();
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private bindings: Binding[] = [];
  private bound = false;
  private connected = false;
  private closing = false;
  private warnedMaskedError = false;
  private readonly metrics: ConsumerMetrics | undefined;
  private backlog: ConsumerBacklogPoller | undefined;
  /** Nest's lookup normalises the pattern with JSON.parse (which throws for a plain string) on every call: a measurable share of a busy consumer's CPU. */
  private readonly handlerCache = new Map<string, MessageHandler | null>();

  constructor(private readonly options: JetStreamServerOptions) {
    super();
    this.log = options.logger ?? createJsonLogger({ service: options.service });
    this.metrics = options.metrics ? new ConsumerMetrics(options.metrics) : undefined;
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      const durables = this.options.consumers.map((c) => this.durableOf(c));
      const dup = durables.find((d, i) => durables.indexOf(d) !== i);
      if (dup !== undefined) throw new Error(`two consumers share the durable name "${dup}"`);
      this.nc = this.options.connection ?? (await connectNats(this.options.natsUrl, this.options.service));
      this.connected = true;
      this._status$.next('connected');
      void this.watchStatus(this.nc);
      this.js = jetstream(this.nc);
      this.jsm = await jetstreamManager(this.nc);
      if (this.options.topology !== false) {
        await provisionStreams(this.jsm, declareTopology(this.options.subjects, this.options.topology ?? {}), this.log);
      }
      for (const c of this.options.consumers) this.bindings.push(await this.bind(c));
      for (const b of this.bindings) b.worker.start();
      if (this.metrics) {
        const targets = this.bindings.map((b) => ({ stream: b.streamName, durable: b.durable }));
        this.backlog = new ConsumerBacklogPoller(this.jsm, targets, this.metrics, this.options.backlogIntervalMs ?? 5_000, this.log);
        this.backlog.start();
      }
      this.bound = true;
      this.log.info('jetstream consumers bound', { consumers: this.bindings.map((b) => b.durable) });
      callback();
    } catch (err) {
      this.log.error('jetstream server failed to start', { err });
      callback(err);
    }
  }

  /** For /readyz: connected and every consumer bound. */
  isReady(): boolean {
    return this.bound && this.connected && !this.closing && this.nc !== undefined && !this.nc.isClosed();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.bound = false;
    await this.backlog?.stop();
    for (const b of this.bindings) b.worker.stop();
    const timeoutMs = this.options.drainTimeoutMs ?? 10_000;
    const drained = await Promise.all(this.bindings.map((b) => b.worker.drain(timeoutMs)));
    if (drained.includes(false)) {
      // Their messages are redelivered after ack_wait; the inbox makes the rerun harmless.
      this.log.warn('handlers still running at shutdown', {
        inFlight: this.bindings.reduce((n, b) => n + b.worker.inFlightCount, 0),
        drainTimeoutMs: timeoutMs,
      });
    }
    if (this.nc && !this.nc.isClosed() && this.options.connection === undefined) await this.nc.drain();
    this._status$.next('disconnected');
    this.events.removeAllListeners();
  }

  on<K extends keyof ServerEvents>(event: K, callback: ServerEvents[K]): void {
    this.events.on(event, callback);
  }

  unwrap<T>(): T {
    if (!this.nc) throw new Error('Not initialized. Call listen() before unwrap().');
    return this.nc as T;
  }

  /** Handlers are all registered before listen(); patterns come from subjects, so the cache is bounded. */
  private handlerFor(pattern: string): MessageHandler | null {
    const cached = this.handlerCache.get(pattern);
    if (cached !== undefined) return cached;
    const handler = this.getHandlerByPattern(pattern);
    if (this.handlerCache.size < 1_000) this.handlerCache.set(pattern, handler);
    return handler;
  }

  private durableOf(c: JetStreamConsumerOptions): string {
    if (c.durable) return c.durable;
    const { service } = this.options;
    return c.stream === 'EVENTS' ? service : c.stream === 'COMMANDS' ? `${service}-cmd` : `${service}-replay`;
  }

  private async bind(c: JetStreamConsumerOptions): Promise<Binding> {
    const durable = this.durableOf(c);
    if (c.batch && c.stream === 'COMMANDS') throw new Error(`${durable}: batch delivery is for events, not commands (each command has its own outcome)`);
    const streamName = this.options.subjects.stream(c.stream);
    const provision = async (): Promise<Consumer> => {
      await provisionConsumer(
        this.jsm!,
        streamName,
        {
          durable_name: durable,
          filter_subject: c.filter,
          ack_wait: nanos(c.ackWaitMs ?? 30_000),
          max_deliver: c.maxDeliver ?? 5,
          ...(c.maxAckPending !== undefined && { max_ack_pending: c.maxAckPending }),
          ...(c.deliverPolicy !== undefined && { deliver_policy: c.deliverPolicy }),
        },
        this.log,
      );
      return this.js!.consumers.get(streamName, durable);
    };
    const consumer = await provision();
    const live = (await consumer.info(true)).config;
    const binding: Binding = {
      durable,
      stream: c.stream,
      streamName,
      maxDeliver: live.max_deliver ?? c.maxDeliver ?? 5,
      ackWaitMs: live.ack_wait ? millis(live.ack_wait) : (c.ackWaitMs ?? 30_000),
      retry: { ...DEFAULT_RETRY, ...this.options.retry, ...(c.backoffMs && { backoffMs: c.backoffMs }) },
      worker: undefined as unknown as ConsumerWorker,
      ...(c.batch && { batch: { delivery: c.batch, types: new Set(c.batch.types) } }),
    };
    binding.worker = new ConsumerWorker(
      consumer,
      {
        name: durable,
        concurrency: c.concurrency ?? 1,
        fetchExpiresMs: this.options.fetchExpiresMs ?? 5_000,
        retryDelayMs: 1_000,
        logger: this.log,
        ...(c.batch && { batchMax: c.batch.maxMessages ?? c.concurrency ?? 1, ...(c.batch.idleMs !== undefined && { batchIdleMs: c.batch.idleMs }) }),
      },
      (msg) => this.handleMessage(binding, msg),
      provision,
      (msgs) => this.handleBatch(binding, msgs),
    );
    return binding;
  }

  /**
   * One delivery, in a consumer span continued from the message's
   * traceparent header (so one run is one trace across services), timed and
   * counted by its outcome.
   */
  private async handleMessage(b: Binding, msg: JsMsg): Promise<void> {
    const started = performance.now();
    const handling: Handling = { type: 'unknown', outcome: 'error' };
    const header = (name: string) => (msg.headers?.has(name) ? msg.headers.get(name) : undefined);
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.name': msg.subject,
      'messaging.consumer.group.name': b.durable,
      'messaging.nats.delivery_count': msg.info.deliveryCount,
      ...(header(Headers.MsgId) !== undefined && { 'messaging.message.id': header(Headers.MsgId) }),
    };
    try {
      await inMessageSpan(`process ${b.stream.toLowerCase()}`, header(Headers.Traceparent), attributes, async (span) => {
        await this.handleDelivery(b, msg, handling);
        span.updateName(`process ${handling.type}`);
        span.setAttributes({ 'steward.message.type': handling.type, 'steward.outcome': handling.outcome });
      });
    } finally {
      this.metrics?.handled(b.durable, handling.type, handling.outcome, (performance.now() - started) / 1000);
    }
  }

  /**
   * One batch of a batch-delivery consumer: each message routed (dead
   * letters and skips settled here), the handled ones given to the batch
   * handler in one call, each then settled from its own result.
   */
  private async handleBatch(b: Binding, msgs: JsMsg[]): Promise<void> {
    const { delivery, types } = b.batch!;
    const started = performance.now();
    const metas: JetStreamMessageMeta[] = msgs.map(() => ({ consumer: b.durable }));
    const ctxs = msgs.map((m, i) => new JetStreamContext(m, metas[i]!));
    const handlings: Handling[] = msgs.map(() => ({ type: 'unknown', outcome: 'error' }));
    const keepAlive = setInterval(() => {
      for (const ctx of ctxs) if (!ctx.isSettled()) ctx.working();
    }, Math.max(250, b.ackWaitMs / 2));
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.name': b.streamName,
      'messaging.consumer.group.name': b.durable,
      'messaging.batch.message_count': msgs.length,
    };
    try {
      // One span for the batch: its messages belong to many traces (each event's own traceparent travels on in its metadata).
      await inMessageSpan(`process ${b.stream.toLowerCase()} batch`, undefined, attributes, async () => {
        const items: BatchItem[] = [];
        const at: number[] = [];
        for (let i = 0; i < msgs.length; i++) {
          const msg = msgs[i]!;
          const ctx = ctxs[i]!;
          const routed = routeMessage(msg, b.stream, this.options.subjects, this.options.registry, (p) => types.has(p));
          if (routed.kind === 'dead_letter') {
            const claimed = ctx.getHeader(Headers.Type) ?? this.options.subjects.typeOf(ctx.getSubject());
            if (claimed !== undefined && types.has(claimed)) handlings[i]!.type = claimed;
            recordSpanError(routed.error);
            handlings[i]!.outcome = await this.deadLetter(b, ctx, routed.reason, routed.error);
          } else if (routed.kind === 'skip') {
            handlings[i] = { type: 'unhandled', outcome: 'skipped' };
            ctx.ack();
          } else {
            handlings[i]!.type = routed.pattern;
            Object.assign(metas[i]!, routed.meta);
            items.push({ envelope: routed.data as EventEnvelope, ctx });
            at.push(i);
          }
        }
        if (items.length === 0) return;
        const results = await delivery.handle(items).catch((err: unknown) => items.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason: err })));
        for (let k = 0; k < items.length; k++) {
          const i = at[k]!;
          const ctx = ctxs[i]!;
          const result = results[k] ?? { status: 'rejected', reason: new Error('the batch handler returned no result for this message') };
          if (result.status === 'fulfilled') {
            ctx.ack();
            const settlement = ctx.getSettlement();
            handlings[i]!.outcome = settlement === 'nak' ? 'retry' : settlement === 'term' ? 'terminated' : 'success';
          } else {
            recordSpanError(result.reason);
            handlings[i]!.outcome = await this.onHandlerError(b, ctx, result.reason);
          }
        }
      });
    } finally {
      clearInterval(keepAlive);
      const seconds = (performance.now() - started) / 1000;
      if (this.metrics) for (const h of handlings) this.metrics.handled(b.durable, h.type, h.outcome, seconds);
    }
  }

  private async handleDelivery(b: Binding, msg: JsMsg, handling: Handling): Promise<void> {
    const meta: JetStreamMessageMeta = { consumer: b.durable };
    const ctx = new JetStreamContext(msg, meta);
    // Keeps a long handler's message from being redelivered to another replica mid-run.
    const keepAlive = setInterval(() => ctx.working(), Math.max(250, b.ackWaitMs / 2));
    const started = Date.now();
    try {
      const routed = routeMessage(msg, b.stream, this.options.subjects, this.options.registry, (p) => this.handlerFor(p) !== null);
      if (routed.kind === 'dead_letter') {
        // A label only for types this service handles: the header of a rejected message is unvalidated input.
        const claimed = ctx.getHeader(Headers.Type) ?? this.options.subjects.typeOf(ctx.getSubject());
        if (claimed !== undefined && this.handlerFor(claimed) !== null) handling.type = claimed;
        recordSpanError(routed.error);
        handling.outcome = await this.deadLetter(b, ctx, routed.reason, routed.error);
        return;
      }
      if (routed.kind === 'skip') {
        handling.type = 'unhandled';
        handling.outcome = 'skipped';
        return ctx.ack();
      }
      handling.type = routed.pattern;
      Object.assign(meta, routed.meta);
      try {
        await this.invoke(this.handlerFor(routed.pattern)!, routed.data, ctx);
      } catch (err) {
        recordSpanError(err);
        handling.outcome = await this.onHandlerError(b, ctx, err);
        return;
      }
      ctx.ack();
      const settlement = ctx.getSettlement();
      handling.outcome = settlement === 'nak' ? 'retry' : settlement === 'term' ? 'terminated' : 'success';
      this.log.debug('message handled', { consumer: b.durable, pattern: routed.pattern, seq: msg.seq, duration_ms: Date.now() - started });
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Runs the Nest handler between the processing hooks (instrumentation) and waits for its stream to settle. */
  private invoke(handler: MessageHandler, data: unknown, ctx: JetStreamContext): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.onProcessingStartHook(this.transportId, ctx, async () => {
        const end = this.createProcessingEndHookRunner(ctx);
        try {
          const out: unknown = await handler(data, ctx);
          if (isObservable(out)) await lastValueFrom(out, { defaultValue: undefined });
          resolve();
        } catch (err) {
          reject(err);
        } finally {
          end();
        }
      });
    });
  }

  private async onHandlerError(b: Binding, ctx: JetStreamContext, err: unknown): Promise<HandlingOutcome> {
    const fields = { consumer: b.durable, subject: ctx.getSubject(), seq: ctx.getStreamSequence(), deliveries: ctx.getDeliveryCount(), err };
    if (ctx.isSettled()) {
      this.log.error('handler failed after settling its message', fields);
      return 'error';
    }
    if (!(err instanceof Error) && !this.warnedMaskedError) {
      this.warnedMaskedError = true;
      this.log.warn('handler error was replaced by a Nest exception filter; register JetStreamExceptionFilter so permanent errors skip retries', fields);
    }
    const decision = decideFailure(err, ctx.getDeliveryCount(), b.maxDeliver, b.retry);
    if (decision.action === 'dead_letter') return this.deadLetter(b, ctx, decision.reason, err);
    this.log.warn('handler failed, will retry', { ...fields, retry_in_ms: decision.delayMs });
    ctx.nak(decision.delayMs);
    return 'retry';
  }

  /** `retry` when the DLQ publish failed and the message was nak'd to try again. */
  private async deadLetter(b: Binding, ctx: JetStreamContext, reason: DeadLetterReason, err: unknown): Promise<HandlingOutcome> {
    const msg = ctx.getMessage();
    try {
      await publishDeadLetter(
        this.js!,
        this.options.subjects,
        { subject: msg.subject, data: msg.data, headers: msg.headers, stream: b.streamName, streamSequence: msg.info.streamSequence, deliveryCount: msg.info.deliveryCount },
        b.durable,
        reason,
        err,
      );
    } catch (publishErr) {
      // Keep the message rather than lose it: it comes back and we try the DLQ again.
      this.log.error('dead-letter publish failed', { consumer: b.durable, seq: msg.info.streamSequence, reason, err: publishErr });
      ctx.nak(retryDelayMs(msg.info.deliveryCount, b.retry));
      return 'retry';
    }
    ctx.term(reason);
    this.metrics?.deadLettered(b.durable, reason);
    this.log.error('message dead-lettered', { consumer: b.durable, subject: msg.subject, seq: msg.info.streamSequence, reason, deliveries: msg.info.deliveryCount, err });
    return 'dead_letter';
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this._status$.next('disconnected');
        this.events.emit('disconnect');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this._status$.next('connected');
        this.events.emit('reconnect');
      } else if (s.type === 'error' && this.events.listenerCount('error') > 0) {
        // An 'error' emit without a listener would throw and end this loop.
        this.events.emit('error', s.error);
      }
    }
  }
}
