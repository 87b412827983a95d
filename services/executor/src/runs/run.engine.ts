import type { EventMetadata, StoredEvent } from '@steward/contracts';
import { handleCommand, type EventStore, type Queryable } from '@steward/event-store';
import { runDecider, runStreamId, type RunCommand } from '@steward/workflow';
import type { Clock } from '../clock';
import type { RunProjector } from '../projection/run.projector';
import type { RunProjectionRepository } from '../projection/run-projection.repository';
import { planTimers } from '../timers/run-timers.plan';
import type { AdmissionRepository } from './admission.repository';

const RUN_ENDED = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);

/** What the engine must know about a run whose projection row does not exist yet (RequestRun). */
export interface KnownRun {
  workflowId: string;
  concurrencyKey: string;
  concurrencyLimit: number | null;
}

export interface RunEngineOptions {
  scheduleToStartMs: number;
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
    private readonly options: RunEngineOptions,
  ) {}

  async execute(tx: Queryable, command: RunCommand, metadata: EventMetadata, known?: KnownRun): Promise<StoredEvent[]> {
    const run = known ?? (await this.runs.findRun(tx, command.runId));
    // Lock order is always slot lock, then streams and rows: the admission
    // path holds the slot lock while it touches other runs of the key, so a
    // command on one of them must queue behind it rather than deadlock.
    if (run !== undefined && run.concurrencyLimit !== null) await this.admission.lockKey(tx, run.concurrencyKey);
    const streamId = runStreamId(command.runId);
    const meta: EventMetadata = { ...metadata, runId: command.runId, ...(run !== undefined && { workflowId: run.workflowId }) };
    const result = await handleCommand(this.store, streamId, runDecider, command, { tx, metadata: meta });
    if (result.events.length === 0) return [];
    await this.projector.apply(tx, result.events);
    await this.requestTimers(tx, command.runId, streamId, result.events, result.nextExpectedVersion, meta);
    if (run !== undefined && result.events.some((e) => RUN_ENDED.has(e.type))) {
      await this.admitWaiting(tx, run.concurrencyKey, run.concurrencyLimit, metadata);
    }
    return result.events;
  }

  /** A slot of `key` freed: admit its oldest pending runs while there is room. */
  async admitWaiting(tx: Queryable, key: string, limit: number | null, metadata: EventMetadata): Promise<void> {
    if (limit === null) return;
    await this.admission.lockKey(tx, key);
    for (;;) {
      const open = await this.admission.countOpen(tx, key);
      if (open.active >= limit || open.pending === 0) return;
      const next = await this.admission.oldestPending(tx, key);
      if (next === undefined) return;
      const admitted = await this.execute(tx, { type: 'AdmitRun', runId: next, now: this.clock.now() }, { ...metadata, correlationId: metadata.correlationId ?? next });
      // The stream says the run is not pending although its row does: do not spin on it.
      if (admitted.length === 0) return;
    }
  }

  private async requestTimers(tx: Queryable, runId: string, streamId: string, events: StoredEvent[], version: number, meta: EventMetadata): Promise<void> {
    const needsLookup = events.some((e) => e.type === 'step.started' || e.type === 'run.queued');
    const timeouts = needsLookup ? await this.runs.stepTimeouts(tx, runId) : new Map();
    const runTimeoutMs = needsLookup ? ((await this.runs.findRun(tx, runId))?.timeoutMs ?? undefined) : undefined;
    const timers = planTimers(events, {
      runId,
      ...(runTimeoutMs !== undefined && { runTimeoutMs }),
      scheduleToStartMs: this.options.scheduleToStartMs,
      stepTimeouts: (stepId) => timeouts.get(stepId),
      metadata: meta,
    });
    if (timers.length === 0) return;
    await this.store.append(streamId, timers.map((t) => ({ ...t, metadata: meta })), { expected: version, tx });
  }
}
