import type { Pool } from 'pg';
import type { z } from 'zod';
import {
  CommandAccepted,
  CommandRejected,
  IllegalStateError,
  formatPath,
  isStewardError,
  NotFoundError,
  ReplayFailed,
  ReplayStarted,
  ValidationError,
  type EventData,
  type EventMetadata,
  type StoredEvent,
  type ValidationIssue,
} from '@steward/contracts';
import { commitSafeHead, countSelection, processOnce, type EventStore, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { BACKFILL_TYPES, CancelReplayPayload, startReplaySchema, type StartReplay } from './replay.payloads';
import { applyReplayEvent, FINAL_STATES } from './replay.projection';
import { storeSelection } from './replay.selection';

export const LEDGER_COMMAND_CONSUMER = 'ledger-cmd';
const SERVICE = 'ledger';
const SAVEPOINT = 'ledger_command';
/** Refusals that are the command's fault: recorded as command.rejected, never retried. */
const REJECTED_CODES = new Set(['validation', 'not_found', 'illegal_state', 'forbidden']);

export type CommandResult = { status: 'recorded'; events: StoredEvent[] } | { status: 'rejected'; code: string; reason: string } | { status: 'duplicate' };

export interface ReplayCommandsOptions {
  /** Every registered event type: what a rebuild selects when it names no types. */
  allTypes: readonly string[];
  now?: () => Date;
}

/**
 * The ledger's commands: `start_replay` and `cancel_replay`. Each runs once
 * (inbox keyed by command id) and records its outcome with the command id as
 * causation, which is what the gateway's CommandBus waits for: the replay's
 * events, or `command.rejected` naming the fields at fault.
 */
export class ReplayCommands {
  private readonly now: () => Date;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly options: ReplayCommandsOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Dispatches by command name; unknown names are refused like a bad payload. */
  handle(command: CommandEnvelope): Promise<CommandResult> {
    switch (command.name) {
      case 'start_replay':
        return this.run(command, startReplaySchema(command.payload), (tx, p, meta) => this.start(tx, command, p, meta));
      case 'cancel_replay':
        return this.run(command, CancelReplayPayload, (tx, p, meta) => this.cancel(tx, p, meta));
      default:
        return this.run(command, null, () => {
          throw new ValidationError(`the ledger has no command ${command.name}`, [{ path: 'name', message: 'expected start_replay or cancel_replay' }]);
        });
    }
  }

  private async start(tx: Queryable, command: CommandEnvelope, payload: unknown, metadata: EventMetadata): Promise<StoredEvent[]> {
    const request = classify(payload);
    const p = request.payload;
    const recorded: EventData<typeof ReplayStarted>['selection'] = {
      types: request.kind === 'backfill' ? [...BACKFILL_TYPES] : [...(request.payload.types ?? this.options.allTypes)],
      ...(request.kind === 'backfill' && request.payload.source !== undefined && { source: request.payload.source }),
      ...(request.kind === 'backfill' && request.payload.workflow !== undefined && { workflowId: request.payload.workflow }),
      ...(p.from !== undefined && { from: p.from }),
      ...(p.to !== undefined && { to: p.to }),
    };
    const selection = storeSelection(request.kind, recorded);
    // Everything at or before the commit-safe head is settled: freezing it makes the replay finite and its count exact.
    const upTo = await commitSafeHead(tx);
    const total = await countSelection(tx, selection, upTo);
    // The command id is unique and deterministic: a redelivered command names the same replay.
    const replayId = command.commandId.toLowerCase();
    const data: EventData<typeof ReplayStarted> = {
      replayId,
      kind: request.kind,
      selection: recorded,
      consumer: request.kind === 'backfill' ? 'transformer' : request.payload.rebuild,
      ...(request.kind === 'backfill' && { transform: request.payload.transform }),
      dryRun: p.dryRun === true,
      total,
      upTo: { transactionId: upTo.transactionId.toString(), position: upTo.globalPosition.toString() },
      ...(command.actor !== undefined && { requestedBy: command.actor }),
      startedAt: this.now().toISOString(),
    };
    const { events } = await this.store.append(`replay-${replayId}`, [{ type: ReplayStarted.type, data, metadata }], { expected: 'no_stream', tx });
    for (const e of events) await applyReplayEvent(tx, e);
    await tx.query(
      `INSERT INTO ledger_replay_checkpoints (replay_id, transaction_id, global_position, published) VALUES ($1, '0'::xid8, 0, 0)
        ON CONFLICT (replay_id) DO NOTHING`,
      [replayId],
    );
    return events;
  }

  private async cancel(tx: Queryable, p: z.output<typeof CancelReplayPayload>, metadata: EventMetadata): Promise<StoredEvent[]> {
    // The row lock orders this against the publisher's page commits.
    const { rows } = await tx.query<{ state: string }>('SELECT state FROM ledger_replays WHERE replay_id = $1 FOR UPDATE', [p.replayId]);
    const state = rows[0]?.state;
    if (state === undefined) throw new NotFoundError('replay', p.replayId);
    if ((FINAL_STATES as readonly string[]).includes(state)) throw new IllegalStateError(`replay ${p.replayId} is already ${state}`, { replayId: p.replayId, state });
    const data: EventData<typeof ReplayFailed> = {
      replayId: p.replayId,
      error: { code: 'cancelled', message: p.reason ?? `cancelled by ${metadata.actor ?? 'an operator'}` },
      at: this.now().toISOString(),
    };
    const { events } = await this.store.append(`replay-${p.replayId}`, [{ type: ReplayFailed.type, data, metadata }], { expected: 'any', tx });
    for (const e of events) await applyReplayEvent(tx, e);
    return events;
  }

  private async run<S extends z.ZodType>(
    command: CommandEnvelope,
    schema: S | null,
    work: (tx: Queryable, payload: z.output<S>, metadata: EventMetadata) => Promise<StoredEvent[]>,
  ): Promise<CommandResult> {
    const metadata: EventMetadata = {
      correlationId: command.correlationId,
      causationId: command.commandId,
      ...(command.actor !== undefined && { actor: command.actor }),
      ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    };
    const once = await processOnce(this.pool, this.store, LEDGER_COMMAND_CONSUMER, command.commandId, async (tx): Promise<CommandResult> => {
      await tx.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        let payload: z.output<S> = command.payload as z.output<S>;
        if (schema !== null) {
          const parsed = schema.safeParse(command.payload);
          if (!parsed.success) {
            const issues = payloadIssues(parsed.error);
            throw new ValidationError(`invalid ${command.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
          }
          payload = parsed.data;
        }
        const events = await work(tx, payload, metadata);
        if (events.length === 0) {
          await this.record(tx, command, metadata, { type: CommandAccepted.type, data: { commandId: command.commandId, service: SERVICE, command: command.name, events: [] } });
        }
        return { status: 'recorded', events };
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

/** Issues with paths under `payload`; an unknown field is named itself rather than its parent. */
function payloadIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: formatPath([...i.path, k], 'payload'), message: 'unknown field' }))
      : [{ path: formatPath(i.path, 'payload'), message: i.message }],
  );
}

function classify(payload: unknown): StartReplay {
  return 'rebuild' in (payload as object) ? { kind: 'rebuild', payload: payload as Extract<StartReplay, { kind: 'rebuild' }>['payload'] } : { kind: 'backfill', payload: payload as Extract<StartReplay, { kind: 'backfill' }>['payload'] };
}
