import { createHash } from 'node:crypto';
import { IllegalStateError, NotFoundError, ScheduleRunRequested, type EventData, type NewEvent } from '@steward/contracts';
import { eventOccurrenceId, resolveRunInput, type Occurrence, type WorkflowDefinition } from '@steward/workflow';
import type { WorkflowState } from '../workflows/workflow.evolve';

// `schedule.run_requested` for the three ways a run starts. Scheduled and
// event-triggered runs get a run id derived from what triggered them, so a
// second scheduler replica, a restart or a redelivery asks for the SAME run
// and the executor's RequestRun on an existing run stream decides nothing.

export type RunRequestedData = EventData<typeof ScheduleRunRequested>;

/** The workflow version a run is requested for, as the projection or the stream knows it. */
export interface WorkflowSnapshot {
  id: string;
  version: number;
  hash: string;
  definition: WorkflowDefinition;
}

/**
 * A UUID-shaped id (version 8, "custom") from the SHA-256 of `key`: stable
 * across replicas and restarts, and shaped like every other run id.
 */
export function deterministicRunId(key: string): string {
  const b = createHash('sha256').update(`steward-run:${key}`).digest();
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export const occurrenceStreamId = (occurrenceId: string): string => `occurrence-${occurrenceId}`;
export const manualStreamId = (runId: string): string => `manual-${runId}`;
export const triggerStreamId = (eventId: string, workflowId: string): string => `trigger-${eventId}-${workflowId}`;

function runRequested(w: WorkflowSnapshot, runId: string, trigger: RunRequestedData['trigger'], input: Record<string, unknown>, now: Date, occurrence?: Occurrence): NewEvent<RunRequestedData> {
  return {
    type: ScheduleRunRequested.type,
    data: {
      workflowId: w.id,
      version: w.version,
      hash: w.hash,
      definition: w.definition as unknown as Record<string, unknown>,
      runId,
      trigger,
      ...(occurrence && { occurrence: { id: occurrence.id, at: occurrence.at.toISOString() } }),
      input,
      requestedAt: now.toISOString(),
    },
    // A scheduled run has no caller: its run id is the thread the timeline follows.
    metadata: { workflowId: w.id, runId, correlationId: runId },
  };
}

export function scheduledRunRequested(w: WorkflowSnapshot, occurrence: Occurrence, now: Date): NewEvent<RunRequestedData> {
  return runRequested(w, deterministicRunId(occurrence.id), { kind: 'schedule' }, {}, now, occurrence);
}

export interface TriggeringEvent {
  id: string;
  type: string;
  data: unknown;
}

/**
 * Input of an event-triggered run: the event's fields the workflow declares
 * as inputs; a workflow that declares none gets the whole event under `event`.
 */
export function triggerInput(definition: Pick<WorkflowDefinition, 'inputs'>, event: TriggeringEvent): Record<string, unknown> {
  if (definition.inputs === undefined) return { event: { id: event.id, type: event.type, data: event.data } };
  const data = event.data !== null && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : {};
  return Object.fromEntries(Object.keys(definition.inputs).filter((k) => Object.hasOwn(data, k)).map((k) => [k, data[k]]));
}

export function triggeredRunRequested(w: WorkflowSnapshot, event: TriggeringEvent, now: Date): NewEvent<RunRequestedData> {
  const runId = deterministicRunId(eventOccurrenceId(w.id, event.id));
  return runRequested(w, runId, { kind: 'event', eventId: event.id, eventType: event.type }, triggerInput(w.definition, event), now);
}

export interface StartManualRun {
  workflowId: string;
  input: Record<string, unknown>;
  actor?: string;
  /** A fresh UUIDv7 minted by the caller: an operator may start the same workflow many times. */
  runId: string;
  now: Date;
}

/** An operator's `steward runs start`: only for an applied, unpaused workflow, with input valid for it. */
export function decideManualRun(command: StartManualRun, state: WorkflowState): NewEvent<RunRequestedData> {
  if (state.version === 0 || state.definition === undefined || state.hash === undefined) throw new NotFoundError('workflow', command.workflowId);
  if (state.paused) throw new IllegalStateError(`workflow ${command.workflowId} is paused; resume it to start runs`, { workflowId: command.workflowId });
  // Checked here so the operator hears about a bad input at once, with its path.
  resolveRunInput(state.definition, command.input);
  const snapshot: WorkflowSnapshot = { id: command.workflowId, version: state.version, hash: state.hash, definition: state.definition };
  const trigger = { kind: 'manual' as const, ...(command.actor !== undefined && { actor: command.actor }) };
  return runRequested(snapshot, command.runId, trigger, command.input, command.now);
}
