import type { Pool } from 'pg';
import { CommandAccepted, CommandRejected, isStewardError, issuesOf, ValidationError, type EventMetadata, type StoredEvent } from '@steward/contracts';
import { processOnce, type EventStore, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { z } from 'zod';

export const COMMAND_CONSUMER = 'transformer-cmd';
const SERVICE = 'transformer';
const SAVEPOINT = 'transformer_command';
/** Refusals that are the command's fault: recorded as command.rejected, never retried. */
const REJECTED_CODES = new Set(['validation', 'not_found', 'illegal_state', 'forbidden']);

export type CommandWork<T> = (tx: Queryable, payload: T, metadata: EventMetadata, command: CommandEnvelope) => Promise<StoredEvent[]>;

export type CommandResult = { status: 'recorded'; types: string[] } | { status: 'accepted' } | { status: 'rejected'; code: string; reason: string } | { status: 'duplicate' };

/**
 * Runs a command exactly once (inbox keyed by command id) and records its
 * outcome as events caused by the command, which is what the gateway's
 * CommandBus waits for: the domain events, `command.accepted` when it
 * changed nothing, or `command.rejected` with the reason and the fields at fault.
 */
export class CommandRunner {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async run<S extends z.ZodType>(command: CommandEnvelope, schema: S, work: CommandWork<z.output<S>>): Promise<CommandResult> {
    const metadata: EventMetadata = {
      correlationId: command.correlationId,
      causationId: command.commandId,
      ...(command.actor !== undefined && { actor: command.actor }),
      ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    };
    const once = await processOnce(this.pool, this.store, COMMAND_CONSUMER, command.commandId, async (tx): Promise<CommandResult> => {
      await tx.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        const parsed = schema.safeParse(command.payload);
        if (!parsed.success) {
          const issues = issuesOf(parsed.error).map((i) => ({ ...i, path: `payload.${i.path}` }));
          throw new ValidationError(`invalid ${command.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
        }
        const events = await work(tx, parsed.data, metadata, command);
        if (events.length > 0) return { status: 'recorded', types: events.map((e) => e.type) };
        await this.record(tx, command, metadata, { type: CommandAccepted.type, data: { commandId: command.commandId, service: SERVICE, command: command.name, events: [] } });
        return { status: 'accepted' };
      } catch (err) {
        if (!isStewardError(err) || !REJECTED_CODES.has(err.code)) throw err;
        await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        const issues = err instanceof ValidationError ? err.issues : undefined;
        await this.record(tx, command, metadata, {
          type: CommandRejected.type,
          data: { commandId: command.commandId, service: SERVICE, command: command.name, code: err.code, reason: err.message, ...(issues !== undefined && { issues }) },
        });
        return { status: 'rejected', code: err.code, reason: err.message };
      }
    });
    return once.status === 'duplicate' ? { status: 'duplicate' } : once.result;
  }

  private async record(tx: Queryable, command: CommandEnvelope, metadata: EventMetadata, event: { type: string; data: unknown }): Promise<void> {
    await this.store.append(`command-${command.commandId}`, [{ ...event, metadata }], { expected: 'no_stream', tx });
  }
}
