import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from './json.logger';

export interface ConsumerWorkerOptions {
  name: string;
  /** Messages handled at once. Each fetch asks only for free slots, so nothing waits in a buffer while its ack timer runs. */
  concurrency: number;
  /** How long one pull request waits for messages (>= 1000, NATS client minimum). */
  fetchExpiresMs: number;
  /** Pause before fetching again after an error (consumer deleted, connection lost). */
  retryDelayMs: number;
  logger: Logger;
  /**
   * Batch delivery: the messages of a fetch go to `processBatch` together,
   * at most this many a call; `concurrency` then counts messages in flight
   * over all batches.
   */
  batchMax?: number;
  /** A batch still filling is handed over once no message arrived for this long (default 2 ms). */
  batchIdleMs?: number;
}

/**
 * Pulls messages for one durable consumer and hands each to `process`.
 * Fetch rather than consume(): consume() prefetches a batch whose ack-wait
 * clocks run while earlier handlers are still busy, which redelivers
 * messages that were never started.
 */
export class ConsumerWorker {
  private readonly inFlight = new Set<Promise<void>>();
  /** Messages in flight: one per handler call, or a batch's size. */
  private inFlightMessages = 0;
  private stopping = false;
  private current: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly stopped: Promise<void>;
  private signalStop!: () => void;

  constructor(
    private consumer: Consumer,
    private readonly options: ConsumerWorkerOptions,
    private readonly process: (msg: JsMsg) => Promise<void>,
    /** Called after a fetch failed: re-provision and return a fresh handle, or throw to retry later. */
    private readonly rebind: () => Promise<Consumer>,
    /** With `batchMax`: handles a batch of messages (each settled by the callee). */
    private readonly processBatch?: (msgs: JsMsg[]) => Promise<void>,
  ) {
    this.stopped = new Promise((resolve) => {
      this.signalStop = resolve;
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  get inFlightCount(): number {
    return this.inFlightMessages;
  }

  /** Stops pulling. A pull request that was waiting is abandoned; the server hands its messages to the next fetcher. */
  stop(): void {
    this.stopping = true;
    this.signalStop();
    this.wake?.();
    void this.current?.close();
  }

  /** Resolves when every started handler has settled, or false after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    await this.loop;
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = Promise.allSettled([...this.inFlight]).then(() => true);
    try {
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.concurrency - this.inFlightMessages;
      if (free <= 0) {
        // All slots busy: wait for one, but not past stop() (drain() has its own deadline).
        await Promise.race([...this.inFlight, this.stopped]);
        continue;
      }
      try {
        const batch = await this.consumer.fetch({ max_messages: free, expires: this.options.fetchExpiresMs });
        this.current = batch;
        if (this.stopping) void batch.close();
        if (this.processBatch && this.options.batchMax !== undefined) await this.collect(batch, this.options.batchMax, this.processBatch);
        else for await (const msg of batch) this.track(msg);
      } catch (err) {
        if (this.stopping) break;
        this.options.logger.warn('fetch failed, retrying', { consumer: this.options.name, err });
        await this.pause(this.options.retryDelayMs);
        await this.rebind()
          .then((c) => {
            this.consumer = c;
          })
          .catch((rebindErr: unknown) => this.options.logger.warn('rebind failed', { consumer: this.options.name, err: rebindErr }));
      } finally {
        this.current = undefined;
      }
    }
  }

  private track(msg: JsMsg): void {
    this.launch(1, () => this.process(msg));
  }

  private launch(size: number, work: () => Promise<void>): void {
    this.inFlightMessages += size;
    const p: Promise<void> = work()
      .catch((err: unknown) => this.options.logger.error('message processing crashed', { consumer: this.options.name, err }))
      .finally(() => {
        this.inFlight.delete(p);
        this.inFlightMessages -= size;
      });
    this.inFlight.add(p);
  }

  /**
   * Hands the fetch's messages over in batches as they arrive: a full batch
   * at once, a partial one when the fetch pauses (`batchIdleMs`) or ends, so
   * a quiet stream's message does not wait for the fetch to expire.
   */
  private async collect(fetched: AsyncIterable<JsMsg>, max: number, handle: (msgs: JsMsg[]) => Promise<void>): Promise<void> {
    let buffer: JsMsg[] = [];
    let idle: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(idle);
      idle = undefined;
      if (buffer.length === 0) return;
      const msgs = buffer;
      buffer = [];
      this.launch(msgs.length, () => handle(msgs));
    };
    try {
      for await (const msg of fetched) {
        buffer.push(msg);
        if (buffer.length >= max) flush();
        else {
          clearTimeout(idle);
          idle = setTimeout(flush, this.options.batchIdleMs ?? 2);
        }
      }
    } finally {
      flush();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
