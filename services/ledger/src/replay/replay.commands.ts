import type { Pool } from 'pg';
import { z } from 'zod';
import { IllegalStateError, NotFoundError, ReplayFailed, ReplayStarted, ValidationError, type EventData, type EventMetadata, type StoredEvent } from '@steward/contracts';
import { commitSafeHead, countSelection, type EventStore, type Queryable } from '@steward/event-store';
import { CommandRunner, type CommandResult } from '@steward/runtime';
import type { CommandEnvelope } from '@steward/messaging';
import { BACKFILL_TYPES, CancelReplayPayload, startReplaySchema, type StartReplay } from './replay.payloads';
import { applyReplayEvent, FINAL_STATES } from './replay.projection';
import { storeSelection } from './replay.selection';

export const LEDGER_COMMAND_CONSUMER = 'ledger-cmd';

/** Unknown command names are refused by the work itself, with the names the ledger takes. */
const ANY_PAYLOAD = z.unknown();

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
  private readonly runner: CommandRunner;

  constructor(
    pool: Pool,
    private readonly store: EventStore,
    private readonly options: ReplayCommandsOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    this.runner = new CommandRunner(pool, store, { service: 'ledger', consumer: LEDGER_COMMAND_CONSUMER });
  }

  /** Dispatches by command name; unknown names are refused like a bad payload. */
  handle(command: CommandEnvelope): Promise<CommandResult | { status: 'duplicate' }> {
    switch (command.name) {
      case 'start_replay':
        return this.runner.run(command, startReplaySchema(command.payload), (tx, p, meta) => this.start(tx, command, p, meta));
      case 'cancel_replay':
        return this.runner.run(command, CancelReplayPayload, (tx, p, meta) => this.cancel(tx, p, meta));
      default:
        return this.runner.run(command, ANY_PAYLOAD, () => {
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
}

function classify(payload: unknown): StartReplay {
  return 'rebuild' in (payload as object) ? { kind: 'rebuild', payload: payload as Extract<StartReplay, { kind: 'rebuild' }>['payload'] } : { kind: 'backfill', payload: payload as Extract<StartReplay, { kind: 'backfill' }>['payload'] };
}
