import type { Pool } from 'pg';
import { CommandAccepted, CommandRejected, isStewardError, issuesOf, ValidationError, type EventMetadata, type StoredEvent } from '@steward/contracts';
import { processOnce, type EventStore, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { z } from 'zod';

export const COMMAND_CONSUMER = 'executor-cmd';
const SERVICE = 'executor';
const SAVEPOINT = 'executor_command';
/** Refusals that are the command's fault: recorded as command.rejected, never retried. */
const REJECTED_CODES = new Set(['validation', 'not_found', 'illegal_state', 'forbidden']);

export type CommandWork<T> = (tx: Queryable, payload: T, metadata: EventMetadata, command: CommandEnvelope) => Promise<StoredEvent[]>;

/**
 * Runs a command exactly once (inbox keyed by command id) and records its
 * outcome as events whose causation id is the command id, which is what the
 * sender's CommandBus waits for: the domain events it caused, or
 * `command.accepted` when it changed nothing (a repeat, a heartbeat), or
 * `command.rejected` with the reason and the fields at fault. A refusal
 * rolls back whatever the command had done so far.
 */
export class CommandRunner {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async run<S extends z.ZodType>(command: CommandEnvelope, schema: S, work: CommandWork<z.output<S>>): Promise<void> {
    const metadata: EventMetadata = {
      correlationId: command.correlationId,
      causationId: command.commandId,
      ...(command.actor !== undefined && { actor: command.actor }),
      ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    };
    await processOnce(this.pool, this.store, COMMAND_CONSUMER, command.commandId, async (tx) => {
      await tx.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        const parsed = schema.safeParse(command.payload);
        if (!parsed.success) {
          const issues = issuesOf(parsed.error).map((i) => ({ ...i, path: `payload.${i.path}` }));
          throw new ValidationError(`invalid ${command.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
        }
        const events = await work(tx, parsed.data, metadata, command);
        if (events.length === 0) await this.record(tx, command, metadata, { type: CommandAccepted.type, data: { commandId: command.commandId, service: SERVICE, command: command.name, events: [] } });
      } catch (err) {
        if (!isStewardError(err) || !REJECTED_CODES.has(err.code)) throw err;
        await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        const issues = err instanceof ValidationError ? err.issues : undefined;
        await this.record(tx, command, metadata, {
          type: CommandRejected.type,
          data: { commandId: command.commandId, service: SERVICE, command: command.name, code: err.code, reason: err.message, ...(issues !== undefined && { issues }) },
        });
      }
    });
  }

  private async record(tx: Queryable, command: CommandEnvelope, metadata: EventMetadata, event: { type: string; data: unknown }): Promise<void> {
    const runId = (command.payload as { runId?: unknown } | null)?.runId;
    const meta = { ...metadata, ...(typeof runId === 'string' && { runId }) };
    await this.store.append(`command-${command.commandId}`, [{ ...event, metadata: meta }], { expected: 'no_stream', tx });
  }
}
