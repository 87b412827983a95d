import { uuidv7, type EventMetadata, type NewEvent, type StoredEvent } from '@steward/contracts';
import { handleCommand, type Decider, type EventStore, type PendingAppends, type Queryable } from '@steward/event-store';
import { runDecider, runStreamId, type RunCommand, type RunState } from '@steward/workflow';
import type { Clock } from '../clock';
import type { RunProjector } from '../projection/run.projector';
import type { RunProjectionRepository } from '../projection/run-projection.repository';
import { planTimers, stepsStillRunning } from '../timers/run-timers.plan';
import type { AdmissionRepository } from './admission.repository';

const RUN_ENDED = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);

/** What the engine must know about a run whose projection row does not exist yet (RequestRun). */
export interface KnownRun {
  workflowId: string;
  concurrencyKey: string;
  concurrencyLimit: number | null;
  /** Whole-run timeout of the definition; null: none. */
  timeoutMs: number | null;
}

/** How one command runs inside its caller's transaction. */
export interface ExecuteOptions {
  /** The run as the caller knows it (RequestRun: its projection row does not exist yet). */
  known?: KnownRun;
  /** The batch's held appends (InboxBatcher): the run's events join the batch's one write. */
  later?: PendingAppends;
}

/**
 * Applies one command to one run inside the caller's transaction (the one
 * processOnce opened for the message): the shared command handler decides
 * and appends, then the timers the new events need are appended to the same
 * stream, the projection follows, and when the run ended, waiting runs of
 * its concurrency key are admitted. Everything commits with the inbox entry
 * or not at all.
 */
export class RunEngine {
  constructor(
    private readonly store: EventStore,
    private readonly runs: RunProjectionRepository,
    private readonly admission: AdmissionRepository,
    private readonly projector: RunProjector,
    private readonly clock: Clock,
  ) {}

  async execute(tx: Queryable, command: RunCommand, metadata: EventMetadata, options: ExecuteOptions = {}): Promise<StoredEvent[]> {
    const { known, later } = options;
    const streamId = runStreamId(command.runId);
    // Events of this run decided earlier in the batch must be in the table before the stream is read.
    if (later?.touches(streamId)) await later.flush(tx);
    // The run row and the stream in one statement; a RequestRun knows its run and reads no stream (expectNew).
    const found = known === undefined ? await this.runs.findRunWithStream(tx, command.runId, streamId) : undefined;
    const run = known ?? found?.run;
    let history = found?.history;
    // Lock order is always slot lock, then streams and rows: the admission
    // path holds the slot lock while it touches other runs of the key, so a
    // command on one of them must queue behind it rather than deadlock.
    if (run !== undefined && run.concurrencyLimit !== null) {
      await this.admission.lockKey(tx, run.concurrencyKey);
      // Read before the slot lock was ours: the stream may have moved while we queued for it.
      history = undefined;
    }
    const meta: EventMetadata = { ...metadata, runId: command.runId, ...(run !== undefined && { workflowId: run.workflowId }) };
    const runTimeoutMs = run?.timeoutMs ?? null;
    const planned = new Set<string>();
    const decider = this.withTimers(command.runId, runTimeoutMs, meta, planned);
    // A requested run's stream is new (a repeated request finds it and decides nothing): no read of an empty stream.
    const result = await handleCommand(this.store, streamId, decider, command, {
      tx,
      metadata: meta,
      expectNew: command.type === 'RequestRun',
      ...(history !== undefined && { history }),
      ...(later !== undefined && { later }),
    });
    if (result.events.length === 0) return [];
    // The timers went into the same append, except where step timeouts had to be read first.
    const events = planned.size === 0 ? result.events : result.events.filter((e) => !planned.has(e.eventId));
    await this.projector.apply(tx, events);
    if (planned.size === 0) await this.requestTimers(tx, command.runId, runTimeoutMs, streamId, events, result.nextExpectedVersion, meta, later);
    if (run !== undefined && events.some((e) => RUN_ENDED.has(e.type))) {
      await this.admitWaiting(tx, run.concurrencyKey, run.concurrencyLimit, metadata, later);
    }
    return events;
  }

  /**
   * The run decider, with the `timer.requested` events its decision needs
   * appended after it: one append (one round trip) for both. Ids are minted
   * here so a timer can name its cause; the ids of the timers go into
   * `planned`. An attempt that started and still runs needs its step
   * timeouts, a read the decider cannot make: such decisions get their
   * timers after the append (requestTimers), and `planned` stays empty.
   */
  private withTimers(runId: string, runTimeoutMs: number | null, meta: EventMetadata, planned: Set<string>): Decider<RunState, RunCommand> {
    return {
      ...runDecider,
      decide: (command, state) => {
        planned.clear();
        const decided: NewEvent[] = runDecider.decide(command, state).map((e) => ({ ...e, id: uuidv7() }));
        const asStored = decided.map((e) => ({ type: e.type, data: e.data, eventId: e.id }) as StoredEvent);
        if (decided.length === 0 || stepsStillRunning(asStored)) return decided;
        const timers = planTimers(asStored, {
          runId,
          ...(runTimeoutMs !== null && { runTimeoutMs }),
          stepTimeouts: () => undefined,
          metadata: meta,
        }).map((t) => ({ ...t, id: uuidv7() }));
        for (const t of timers) planned.add(t.id);
        return [...decided, ...timers];
      },
    };
  }

  /** A slot of `key` freed: admit its oldest pending runs while there is room. */
  async admitWaiting(tx: Queryable, key: string, limit: number | null, metadata: EventMetadata, later?: PendingAppends): Promise<void> {
    if (limit === null) return;
    await this.admission.lockKey(tx, key);
    for (;;) {
      const open = await this.admission.countOpen(tx, key);
      if (open.active >= limit || open.pending === 0) return;
      const next = await this.admission.oldestPending(tx, key);
      if (next === undefined) return;
      const admitted = await this.execute(tx, { type: 'AdmitRun', runId: next, now: this.clock.now() }, { ...metadata, correlationId: metadata.correlationId ?? next }, { ...(later !== undefined && { later }) });
      // The stream says the run is not pending although its row does: do not spin on it.
      if (admitted.length === 0) return;
    }
  }

  /** `runTimeoutMs` comes with the run handle the command already read: no second read of the run row. */
  private async requestTimers(
    tx: Queryable,
    runId: string,
    runTimeoutMs: number | null,
    streamId: string,
    events: StoredEvent[],
    version: number,
    meta: EventMetadata,
    later: PendingAppends | undefined,
  ): Promise<void> {
    // Step timeouts are read only for an attempt that started and is still running after this batch
    // (a folded report, start and result in one command, arms no start-to-close timer).
    const timeouts = stepsStillRunning(events) ? await this.runs.stepTimeouts(tx, runId) : new Map();
    const timers = planTimers(events, {
      runId,
      ...(runTimeoutMs !== null && { runTimeoutMs }),
      stepTimeouts: (stepId) => timeouts.get(stepId),
      metadata: meta,
    });
    if (timers.length === 0) return;
    const withMeta = timers.map((t) => ({ ...t, metadata: meta }));
    if (later !== undefined) later.add(streamId, withMeta, version);
    else await this.store.append(streamId, withMeta, { expected: version, tx });
  }
}
