import type { Pool, PoolClient } from 'pg';
import type { EventStore } from './event.store';
import type { PendingAppends } from './pending.appends';
import { processOnce, unitOfWork } from './unit-of-work.transaction';

export interface InboxBatcherOptions {
  /** The inbox's consumer name: one per durable consumer. */
  consumer: string;
  /** Most messages one transaction takes. */
  maxBatch: number;
  /** How long the first message of a batch waits for company when nothing else is running. */
  maxWaitMs: number;
  /**
   * Batches in flight at once. Work that takes shared rows must take them
   * in a stable order (e.g. sorted keys) so two batches queue, not deadlock.
   */
  parallel: number;
  /** Called after each committed batch: size and seconds (for a histogram). */
  onBatch?: (size: number, seconds: number) => void;
}

/**
 * Does a batch's effects inside the transaction: the messages it gets are
 * the batch's new ones, in submission order (redeliveries already left out).
 * `later`, given when the batch holds more than one message, takes appends
 * to be written together in one statement before the commit (see
 * PendingAppends); a message retried alone gets none.
 */
export type BatchWork<T> = (tx: PoolClient, items: readonly T[], store: EventStore, later?: PendingAppends) => Promise<void>;

interface Pending<T> {
  item: T;
  resolve: (status: 'processed' | 'duplicate') => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for message handlers: `processOnce` for many messages in ONE
 * transaction. Handlers the transport runs at the same time submit their
 * message and wait; a batch claims every inbox row in one statement (a
 * redelivered message finds its row and is a duplicate), runs the work for
 * the new ones, commits, and only then do the handlers return, so the
 * transport acks after the commit exactly as with processOnce. A batch that
 * fails is retried one message at a time, so one bad message fails alone
 * and takes the transport's retry and dead-letter way while the others go on.
 *
 * One transaction per message caps a consumer at a few hundred messages a
 * second on a small machine (a commit each); a batch of 100 pays one.
 */
export class InboxBatcher<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly options: InboxBatcherOptions,
    private readonly idOf: (item: T) => string,
    private readonly work: BatchWork<T>,
  ) {
    if (options.maxBatch < 1 || options.parallel < 1) throw new Error('InboxBatcher needs maxBatch >= 1 and parallel >= 1');
  }

  /** Resolves once the message's effects are committed (or it was a duplicate); rejects with its own failure. */
  submit(item: T): Promise<'processed' | 'duplicate'> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for the batches in flight and flushes what is left (shutdown). */
  async drain(): Promise<void> {
    while (this.flushing.size > 0 || this.pending.length > 0) {
      if (this.flushing.size === 0) this.start();
      await Promise.all(this.flushing);
    }
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.flushing.size >= this.options.parallel) return; // a flush ending picks them up
    if (this.pending.length >= this.options.maxBatch || this.flushing.size > 0) {
      // Under load, batches form while earlier ones run: no need to wait.
      this.start();
      return;
    }
    this.timer ??= setTimeout(() => this.start(), this.options.maxWaitMs);
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    const flush: Promise<void> = this.flush(batch).finally(() => {
      this.flushing.delete(flush);
      this.schedule();
    });
    this.flushing.add(flush);
  }

  private async flush(batch: Pending<T>[]): Promise<void> {
    const started = performance.now();
    let statuses: Array<'processed' | 'duplicate'>;
    try {
      statuses = await this.runBatch(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // Find the culprit: each message alone, with its own inbox check.
      for (const p of batch) {
        try {
          const once = await processOnce(this.pool, this.store, this.options.consumer, this.idOf(p.item), (tx, store) => this.work(tx, [p.item], store));
          p.resolve(once.status);
        } catch (one) {
          p.reject(one);
        }
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(statuses[i]!));
    try {
      this.options.onBatch?.(batch.length, (performance.now() - started) / 1000);
    } catch {
      // A metrics callback must never hold back the handlers whose batch committed.
    }
  }

  private async runBatch(items: T[]): Promise<Array<'processed' | 'duplicate'>> {
    const ids = items.map((i) => this.idOf(i));
    // Sorted: two batches claiming overlapping ids lock them in one order.
    const unique = [...new Set(ids)].sort();
    return unitOfWork(this.pool, async (tx) => {
      const { rows } = await tx.query<{ message_id: string }>({
        name: 'steward_inbox_claim_batch',
        text: 'INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING message_id',
        values: [this.options.consumer, unique],
      });
      const claimed = new Set(rows.map((r) => r.message_id));
      // A message submitted twice in one batch runs once: the first copy takes the claim.
      const statuses = ids.map((id) => (claimed.delete(id) ? ('processed' as const) : ('duplicate' as const)));
      const fresh = items.filter((_, i) => statuses[i] === 'processed');
      if (fresh.length === 1) await this.work(tx, fresh, this.store);
      if (fresh.length > 1) {
        const later = this.store.pendingAppends();
        await this.work(tx, fresh, this.store, later);
        await later.flush(tx);
      }
      return statuses;
    });
  }
}
