import { CommandAccepted, CommandRejected, StewardError, ValidationError, type EventData, type EventMetadata } from '@steward/contracts';
import { processOnce, type EventStore } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Pool, PoolClient } from 'pg';

export const COMMAND_CONSUMER = 'scheduler-cmd';
const SAVEPOINT = 'scheduler_command';

/** Errors that are the command's fault, answered with `command.rejected`; anything else is retried. */
const REJECTING = new Set(['validation', 'not_found', 'illegal_state', 'forbidden']);

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

export const commandStreamId = (commandId: string): string => `command-${commandId}`;

/**
 * Runs one command exactly once (inbox) and records its outcome: the
 * domain events `fn` appended, else `command.accepted`, or, when `fn`
 * throws an error of the caller's making, `command.rejected` with the code,
 * reason and issues, after rolling back anything `fn` wrote.
 */
export class CommandOutcomes {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async handle(cmd: CommandEnvelope, fn: (tx: PoolClient) => Promise<string[]>): Promise<void> {
    await processOnce(this.pool, this.store, COMMAND_CONSUMER, cmd.commandId, async (tx) => {
      await tx.query(`SAVEPOINT ${SAVEPOINT}`);
      let recorded: string[];
      try {
        recorded = await fn(tx);
      } catch (err) {
        if (!(err instanceof StewardError) || !REJECTING.has(err.code)) throw err;
        await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        const data: EventData<typeof CommandRejected> = {
          commandId: cmd.commandId,
          service: 'scheduler',
          command: cmd.name,
          code: err.code,
          reason: err.message,
          ...(err instanceof ValidationError && err.issues.length > 0 && { issues: err.issues.map((i) => ({ path: i.path, message: i.message })) }),
        };
        await this.store.append(commandStreamId(cmd.commandId), [{ type: CommandRejected.type, data, metadata: commandMetadata(cmd) }], { expected: 'no_stream', tx });
        return;
      }
      if (recorded.length > 0) return;
      const data: EventData<typeof CommandAccepted> = { commandId: cmd.commandId, service: 'scheduler', command: cmd.name, events: [] };
      await this.store.append(commandStreamId(cmd.commandId), [{ type: CommandAccepted.type, data, metadata: commandMetadata(cmd) }], { expected: 'no_stream', tx });
    });
  }
}
