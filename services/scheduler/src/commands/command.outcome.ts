import type { EventMetadata, StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
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

  constructor(pool: Pool, store: EventStore) {
    this.runner = new CommandRunner(pool, store, { service: 'scheduler' });
  }

  async handle(cmd: CommandEnvelope, fn: (tx: Queryable) => Promise<StoredEvent[]>): Promise<void> {
    await this.runner.run(cmd, OWN_VALIDATION, (tx) => fn(tx));
  }
}
