import type { Pool } from 'pg';
import { InboxBatcher, type EventStore, type PendingAppends, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { CommandRunner } from '@steward/runtime';
import type { RunProjectionRepository } from '../projection/run-projection.repository';
import type { RunProjector } from '../projection/run.projector';

/** One delivered command and how to run it inside the batch's transaction. */
export interface BatchedCommand {
  command: CommandEnvelope;
  /**
   * `alone`: the only command of its transaction (a batch of one, or the
   * retry of a failed batch); `later`: the batch's held appends, otherwise.
   */
  run: (tx: Queryable, alone: boolean, later?: PendingAppends) => Promise<unknown>;
}

export interface CommandBatching {
  /** Most commands one transaction takes; a command alone in its transaction opens a savepoint (subtransaction). */
  maxBatch: number;
  maxWaitMs: number;
  parallel: number;
}

const runIdOf = (c: BatchedCommand): string => {
  const runId = (c.command.payload as { runId?: unknown } | null)?.runId;
  return typeof runId === 'string' ? runId : '';
};

/**
 * Group commit for the workers' reports: commands delivered together share
 * one transaction, one inbox statement and one COMMIT, each still run by
 * the shared CommandRunner (its outcome events and refusals) and recorded
 * once under the command durable's inbox name. A failing batch is retried
 * one command at a time (InboxBatcher), so a bad command takes the
 * transport's retry and dead-letter way alone. Commands of a batch run
 * without a savepoint each (a round trip): a refusal, rare on this path,
 * fails the batch, and the retry of the command alone, with its savepoint,
 * records it. Commands are taken in run
 * id order, so two batches (two replicas) lock the rows of a shared run in
 * one order; the sort is stable, so a start and a result of one attempt
 * keep their delivery order. Duration baselines are refreshed once per
 * workflow at the end of the batch (RunProjector.withBaselinesDeferred).
 */
export function commandBatcher(
  pool: Pool,
  store: EventStore,
  runner: CommandRunner,
  projector: RunProjector,
  runs: RunProjectionRepository,
  batching: CommandBatching,
): InboxBatcher<BatchedCommand> {
  return new InboxBatcher<BatchedCommand>(pool, store, { consumer: runner.inboxConsumer, ...batching }, (c) => c.command.commandId, async (tx, commands, _store, later) => {
    const ordered = [...commands].sort((a, b) => (runIdOf(a) < runIdOf(b) ? -1 : runIdOf(a) > runIdOf(b) ? 1 : 0));
    const all = async () => {
      for (const c of ordered) await c.run(tx, ordered.length === 1, later);
    };
    // Several: their runs and streams read in one statement, their events and end-of-run rows written in one each.
    await projector.withBaselinesDeferred(tx, () => (later === undefined ? all() : runs.hold(tx, all, ordered.map(runIdOf).filter((id) => id !== ''))));
  });
}
