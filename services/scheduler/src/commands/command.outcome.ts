import type { EventMetadata, StoredEvent } from '@steward/contracts';
import { InboxBatcher, type EventStore, type InboxBatcherOptions, type PendingAppends, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { CommandRunner } from '@steward/runtime';
import type { Pool } from 'pg';
import { z } from 'zod';

/** What every event caused by a command carries: the caller waits on causationId = commandId. */
export function commandMetadata(cmd: CommandEnvelope, extra: EventMetadata = {}): EventMetadata {
  return {
    correlationId: cmd.correlationId,
    causationId: cmd.commandId,
    ...(cmd.actor !== undefined && { actor: cmd.actor }),
    ...(cmd.traceparent !== undefined && { traceparent: cmd.traceparent }),
    ...extra,
  };
}

export type CommandBatching = Pick<InboxBatcherOptions, 'maxBatch' | 'maxWaitMs' | 'parallel'>;

/** `later`: the batch's held appends (PendingAppends), when the command shares its transaction. */
export type BatchedCommandWork = (tx: Queryable, later?: PendingAppends) => Promise<StoredEvent[]>;

interface Batched {
  cmd: CommandEnvelope;
  fn: BatchedCommandWork;
}

/** Each scheduler command validates its own payload (parsePayload names the command in its errors). */
const OWN_VALIDATION = z.unknown();

/**
 * Runs one command exactly once and records its outcome through the shared
 * CommandRunner (libs/runtime): the domain events `fn` appended, else
 * `command.accepted`, or `command.rejected` for an error of the caller's
 * making, after rolling back anything `fn` wrote.
 */
export class CommandOutcomes {
  private readonly runner: CommandRunner;
  private readonly batcher: InboxBatcher<Batched>;

  constructor(pool: Pool, store: EventStore, batching: CommandBatching) {
    this.runner = new CommandRunner(pool, store, { service: 'scheduler' });
    this.batcher = new InboxBatcher<Batched>(pool, store, { consumer: this.runner.inboxConsumer, ...batching }, (b) => b.cmd.commandId, async (tx, items, _store, later) => {
      // A savepoint only for a command alone in its transaction: in a batch a
      // refusal fails the batch, and the retry of the command alone records it.
      for (const b of items) await this.runner.runInTransaction(tx, b.cmd, OWN_VALIDATION, (tx) => b.fn(tx, later), { savepoint: items.length === 1 });
    });
  }

  async handle(cmd: CommandEnvelope, fn: (tx: Queryable) => Promise<StoredEvent[]>): Promise<void> {
    await this.runner.run(cmd, OWN_VALIDATION, (tx) => fn(tx));
  }

  /**
   * `handle`, for commands that come in bursts and touch no shared rows
   * (start_run appends to a new stream of its own): commands delivered
   * together share one transaction and one COMMIT, each still with its own
   * outcome; a failing batch (a refusal among them included: no savepoint
   * per command in a batch) is retried one command at a time.
   */
  async handleBatched(cmd: CommandEnvelope, fn: BatchedCommandWork): Promise<void> {
    await this.batcher.submit({ cmd, fn });
  }
}
