import type { StepError, StepTarget } from '@steward/contracts';
import { evaluateCondition } from './expression.evaluate';
import { nextRetry } from './retry.policy';
import { RUN_TERMINAL_STATES } from './run.state-machine';
import { evolveRun } from './run.evolve';
import type { ActiveRunState, RunEvent, StepState } from './run.state';
import type { StepDefinition } from './step.schema';
import { STEP_ACTIVE_STATES } from './step.state-machine';

// How a run moves through its DAG: which steps become ready, what they are
// dispatched to, what a failed attempt leads to, and when the run as a whole
// is done. Used by run.decide.ts; every event goes through evolve as it is
// emitted, so later decisions in the same command see its effect and an
// illegal transition throws before anything is returned.

export class Decision {
  readonly events: RunEvent[] = [];

  constructor(public state: ActiveRunState) {}

  emit(event: RunEvent): void {
    this.state = evolveRun(this.state, event) as ActiveRunState;
    this.events.push(event);
  }

  step(id: string): StepState {
    return this.state.steps[id]!;
  }

  definitionOf(id: string): StepDefinition {
    return this.state.definition.steps.find((s) => s.id === id)!;
  }

  get ids(): { runId: string; workflowId: string } {
    return { runId: this.state.runId, workflowId: this.state.workflowId };
  }
}

const DONE_OK = new Set(['succeeded', 'skipped']);
const FAILED = new Set(['failed', 'timed_out', 'dead_lettered']);

function targetOf(step: StepDefinition): StepTarget {
  switch (step.kind) {
    case 'collect':
      return { service: 'collector' };
    case 'transform':
      return { service: 'transformer' };
    case 'task':
      return { service: 'worker', queue: step.task.queue };
    case 'approval':
      return { service: 'operators' };
  }
}

function specOf(step: StepDefinition): Record<string, unknown> {
  switch (step.kind) {
    case 'collect':
      return { ...step.collect };
    case 'transform':
      return { ...step.transform };
    case 'task':
      return { ...step.task };
    case 'approval':
      return { ...step.approval };
  }
}

/** Outputs of every step that succeeded so far: what `when` may read. */
export function outputsSoFar(state: ActiveRunState): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const s of Object.values(state.steps)) if (s.status === 'succeeded' && s.outputs !== undefined) outputs[s.id] = s.outputs;
  return outputs;
}

/** Marks the run started the first time anything is picked up (a worker or the operators). */
export function ensureStarted(d: Decision, now: Date): void {
  if (d.state.status === 'queued') d.emit({ type: 'run.started', data: { ...d.ids, startedAt: now.toISOString() } });
}

/** Dispatches one attempt of a step to its target; approvals also open the approval. */
export function dispatch(d: Decision, def: StepDefinition, attempt: number, now: Date): void {
  const outputs = outputsSoFar(d.state);
  const needed: Record<string, unknown> = {};
  for (const n of def.needs) if (outputs[n] !== undefined) needed[n] = outputs[n];
  d.emit({
    type: 'step.queued',
    data: {
      ...d.ids,
      stepId: def.id,
      version: d.state.version,
      attempt,
      kind: def.kind,
      target: targetOf(def),
      spec: specOf(def),
      input: { inputs: d.state.input, outputs: needed },
      timeouts: {
        startToCloseMs: def.timeoutMs,
        ...(def.kind === 'task' && def.task.heartbeatMs !== undefined && { heartbeatMs: def.task.heartbeatMs }),
        ...(def.scheduleToStartMs !== undefined && { scheduleToStartMs: def.scheduleToStartMs }),
      },
      queuedAt: now.toISOString(),
    },
  });
  if (def.kind === 'approval') {
    ensureStarted(d, now);
    d.emit({
      type: 'approval.requested',
      data: {
        ...d.ids,
        stepId: def.id,
        approvers: def.approval.approvers,
        timeoutMs: def.approval.timeoutMs,
        onTimeout: def.approval.onTimeout,
        dueAt: new Date(now.getTime() + def.approval.timeoutMs).toISOString(),
        requestedAt: now.toISOString(),
      },
    });
  }
}

/**
 * Queues every pending step whose needs all succeeded or were skipped and
 * whose `when` holds; skips those whose `when` is false or null; fails those
 * whose `when` is a type error. Repeats until nothing changes, because a
 * skip can make another step ready in the same decision.
 */
export function progress(d: Decision, now: Date): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const def of d.state.definition.steps) {
      const step = d.step(def.id);
      if (step.status !== 'pending' || !def.needs.every((n) => DONE_OK.has(d.step(n).status))) continue;
      changed = true;
      if (def.when === undefined) {
        dispatch(d, def, step.attempt + 1, now);
        continue;
      }
      const condition = evaluateCondition(def.when, { inputs: d.state.input, outputs: outputsSoFar(d.state) });
      if (!condition.ok) {
        d.emit({
          type: 'step.failed',
          data: {
            ...d.ids,
            stepId: def.id,
            attempt: step.attempt + 1,
            error: { code: 'when_error', message: `when "${def.when}": ${condition.error}`, retryable: false },
            failedAt: now.toISOString(),
          },
        });
      } else if (condition.value) dispatch(d, def, step.attempt + 1, now);
      else d.emit({ type: 'step.skipped', data: { ...d.ids, stepId: def.id, when: def.when, skippedAt: now.toISOString() } });
    }
  }
}

/**
 * After anything changed: progress the DAG, then finish the run (all steps
 * succeeded or skipped: succeeded; nothing active and a step failed for
 * good: failed) or keep its approval status in line with its steps.
 */
export function settle(d: Decision, now: Date): void {
  progress(d, now);
  const run = d.state;
  if (RUN_TERMINAL_STATES.includes(run.status) || run.status === 'pending') return;
  const steps = Object.values(run.steps);
  const durationMs = Math.max(0, now.getTime() - Date.parse(run.requestedAt));
  if (steps.every((s) => DONE_OK.has(s.status))) {
    d.emit({ type: 'run.succeeded', data: { ...d.ids, succeededAt: now.toISOString(), durationMs } });
    return;
  }
  const failed = steps.filter((s) => FAILED.has(s.status));
  // Independent branches finish first: their work is kept, and a requeued
  // step can complete the run later. The alert comes from step.dead_lettered.
  if (failed.length > 0 && !steps.some((s) => STEP_ACTIVE_STATES.includes(s.status))) {
    d.emit({
      type: 'run.failed',
      data: {
        ...d.ids,
        failedSteps: failed.map((s) => ({ stepId: s.id, status: s.status, ...(s.failures.length > 0 && { error: s.failures.at(-1)!.error }) })),
        failedAt: now.toISOString(),
        durationMs,
      },
    });
    return;
  }
  const awaiting = steps.filter((s) => s.status === 'awaiting_approval').map((s) => s.id);
  if (run.status === 'running' && awaiting.length > 0) {
    d.emit({ type: 'run.awaiting_approval', data: { ...d.ids, stepIds: awaiting, at: now.toISOString() } });
  } else if (run.status === 'awaiting_approval' && awaiting.length === 0) {
    d.emit({ type: 'run.resumed', data: { ...d.ids, at: now.toISOString() } });
  }
}

/**
 * A failed or timed-out attempt: retry per the step's policy (counting from
 * its last requeue) or dead-letter it with its provenance, then settle.
 */
export function afterFailedAttempt(d: Decision, stepId: string, error: StepError, now: Date, random: number): void {
  const step = d.step(stepId);
  const def = d.definitionOf(stepId);
  const decision = nextRetry({
    policy: def.retry,
    attempt: step.attempt - step.budgetFrom + 1,
    errorCode: error.code,
    retryable: error.retryable,
    random,
    ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
  });
  if (decision.retry) {
    d.emit({
      type: 'step.retry_scheduled',
      data: {
        ...d.ids,
        stepId,
        attempt: step.attempt,
        nextAttempt: step.attempt + 1,
        delayMs: decision.delayMs,
        dueAt: new Date(now.getTime() + decision.delayMs).toISOString(),
      },
    });
  } else {
    d.emit({
      type: 'step.dead_lettered',
      data: {
        ...d.ids,
        stepId,
        version: d.state.version,
        reason: decision.reason,
        attempts: step.failures,
        firstFailureAt: step.failures[0]!.failedAt,
        lastFailureAt: step.failures.at(-1)!.failedAt,
        deadLetteredAt: now.toISOString(),
      },
    });
  }
  settle(d, now);
}
