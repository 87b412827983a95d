import type { Pool } from 'pg';
import { CommandAccepted, CommandRejected, isStewardError, issuesOf, ValidationError, type EventMetadata, type StoredEvent } from '@steward/contracts';
import { processOnce, type EventStore, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { z } from 'zod';

const SAVEPOINT = 'steward_command';
/** Refusals that are the command's fault: recorded as command.rejected, never retried. */
const REJECTED_CODES = new Set(['validation', 'not_found', 'illegal_state', 'forbidden']);

export type CommandWork<T> = (tx: Queryable, payload: T, metadata: EventMetadata, command: CommandEnvelope) => Promise<StoredEvent[]>;

/** What a command came to: the events it recorded, nothing (command.accepted), or a refusal (command.rejected). */
export interface CommandRunnerOptions {
  /** The service recorded on `command.accepted` / `command.rejected`. */
  service: string;
  /** The inbox consumer of the command durable; default `<service>-cmd`. */
  consumer?: string;
  /**
   * Metadata the outcome events carry beyond the command's own (correlation,
   * causation, actor, trace): e.g. the run id, so a refusal shows in the run's timeline.
   */
  outcomeMetadata?: (payload: unknown) => EventMetadata;
}

export type CommandResult =
  | { status: 'recorded'; types: string[]; events: StoredEvent[] }
  | { status: 'accepted' }
  | { status: 'rejected'; code: string; reason: string };

export interface RunOptions {
  /** Runs in the command's transaction once its outcome is recorded (a bulk command keeps each item's outcome). */
  onResult?: (tx: Queryable, result: CommandResult) => Promise<void>;
  /** When the work records no event of its own: the types its `command.accepted` lists (default none). */
  acceptedEvents?: (tx: Queryable) => Promise<string[]>;
  /**
   * Record no `command.accepted` when the work records nothing: for
   * fire-and-forget commands nobody waits on (heartbeats, up to one a second
   * per running attempt), which would otherwise flood the log. Refusals are
   * still recorded.
   */
  quietWhenAccepted?: boolean;
  /**
   * `false`: no savepoint (one round trip less per command). A refusal is
   * then not recorded but raised, failing the caller's whole transaction, as
   * nothing could undo what the command wrote before it. Only for a batch of
   * several commands whose caller retries each alone with a savepoint
   * (InboxBatcher does after a failed batch), where the refusal is recorded.
   * Default `true`.
   */
  savepoint?: boolean;
}

/**
 * Runs a command exactly once (inbox keyed by command id) and records its
 * outcome as events whose causation id is the command id, which is what the
 * sender's CommandBus waits for: the domain events it caused, or
 * `command.accepted` when it changed nothing (a repeat, a heartbeat), or
 * `command.rejected` with the reason and the fields at fault. A refusal
 * rolls back whatever the command had done so far.
 */
export class CommandRunner {
  private readonly consumer: string;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly options: CommandRunnerOptions,
  ) {
    this.consumer = options.consumer ?? `${options.service}-cmd`;
  }

  /** The inbox consumer name commands are recorded under (for a caller that batches them, e.g. InboxBatcher). */
  get inboxConsumer(): string {
    return this.consumer;
  }

  /** `duplicate`: the inbox had it, so its outcome was recorded before. */
  async run<S extends z.ZodType>(command: CommandEnvelope, schema: S, work: CommandWork<z.output<S>>, options: RunOptions = {}): Promise<CommandResult | { status: 'duplicate' }> {
    const once = await processOnce(this.pool, this.store, this.consumer, command.commandId, (tx) => this.runInTransaction(tx, command, schema, work, options));
    return once.status === 'duplicate' ? { status: 'duplicate' } : once.result;
  }

  /**
   * `run` without its own transaction and inbox entry: inside a transaction
   * that already claimed the command's inbox row (`inboxConsumer`), so
   * commands delivered together can share one commit. Same outcome events
   * and the same rollback of a refused command (to a savepoint of its own,
   * unless `options.savepoint` is false).
   */
  async runInTransaction<S extends z.ZodType>(tx: Queryable, command: CommandEnvelope, schema: S, work: CommandWork<z.output<S>>, options: RunOptions = {}): Promise<CommandResult> {
    const metadata: EventMetadata = {
      correlationId: command.correlationId,
      causationId: command.commandId,
      ...(command.actor !== undefined && { actor: command.actor }),
      ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    };
    const savepoint = options.savepoint !== false;
    if (savepoint) await tx.query(`SAVEPOINT ${SAVEPOINT}`);
    let result: CommandResult;
    try {
      const parsed = schema.safeParse(command.payload);
      if (!parsed.success) {
        const issues = issuesOf(parsed.error).map((i) => ({ ...i, path: `payload.${i.path}` }));
        throw new ValidationError(`invalid ${command.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
      }
      const events = await work(tx, parsed.data, metadata, command);
      if (events.length === 0 && options.quietWhenAccepted === true) {
        result = { status: 'accepted' };
      } else if (events.length === 0) {
        const types = (await options.acceptedEvents?.(tx)) ?? [];
        await this.record(tx, command, metadata, { type: CommandAccepted.type, data: { commandId: command.commandId, service: this.options.service, command: command.name, events: types } });
        result = { status: 'accepted' };
      } else {
        result = { status: 'recorded', types: events.map((e) => e.type), events };
      }
    } catch (err) {
      if (!isStewardError(err) || !REJECTED_CODES.has(err.code) || !savepoint) throw err;
      await tx.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      const issues = err instanceof ValidationError ? err.issues : undefined;
      await this.record(tx, command, metadata, {
        type: CommandRejected.type,
        data: { commandId: command.commandId, service: this.options.service, command: command.name, code: err.code, reason: err.message, ...(issues !== undefined && { issues }) },
      });
      result = { status: 'rejected', code: err.code, reason: err.message };
    }
    await options.onResult?.(tx, result);
    return result;
  }

  private async record(tx: Queryable, command: CommandEnvelope, metadata: EventMetadata, event: { type: string; data: unknown }): Promise<void> {
    const meta = { ...metadata, ...this.options.outcomeMetadata?.(command.payload) };
    await this.store.append(`command-${command.commandId}`, [{ ...event, metadata: meta }], { expected: 'no_stream', tx });
  }
}
