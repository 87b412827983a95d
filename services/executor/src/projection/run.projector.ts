import type { EventData, RunRequested, StepQueued, StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { RunEventOf, RunEventType, WorkflowDefinition } from '@steward/workflow';
import { slotOf } from '../runs/run-slot.policy';
import type { BaselinePacer } from './baseline.pacer';
import type { BaselineRepository } from './baseline.repository';
import type { AttemptEnd, QueuedAttempt, RunEnd, RunProjectionRepository } from './run-projection.repository';

/**
 * What one decision's earlier events left for a later one to write: a start
 * followed by the end of the same attempt (or run) is one row update, not two.
 */
interface Pending {
  /** step id -> its start, written with the attempt's end. */
  steps: Map<string, { at: string; worker?: string }>;
  /** The run's start, written with its end. */
  runStartedAt?: string;
}

type Handlers = { [T in RunEventType]: (tx: Queryable, data: RunEventOf<T>['data'], event: StoredEvent, pending: Pending) => Promise<void> };

const ENDS_ATTEMPT_ROW = new Set(['step.succeeded', 'step.failed', 'step.timed_out']);
const ENDS_RUN_ROW = new Set(['run.succeeded', 'run.failed']);
const stepIdOf = (e: StoredEvent): string | undefined => (e.data as { stepId?: string }).stepId;

/**
 * The worker behind a step.started that names none: a quick attempt's result
 * implies its start (the decider emits step.started without a worker), and
 * the worker's commands carry the actor `worker:<workerId>`.
 */
function workerOf(event: StoredEvent): string | undefined {
  const actor = event.metadata.actor;
  return actor?.startsWith('worker:') === true ? actor.slice('worker:'.length) : undefined;
}

/**
 * Folds run events into the executor's projection tables, in the
 * transaction that appended them. A switch-like table with one entry per
 * run event type: the compiler refuses a type without one. Events of one
 * decision that touch the same row are written together (a run requested
 * and admitted, an attempt or a run that started and ended): each
 * statement is a round trip, and they are most of a run's cost.
 */
export class RunProjector {
  private readonly handlers: Handlers;
  /** Transactions of batches (withBaselinesDeferred): workflow -> time of its last success in the batch. */
  private readonly deferredBaselines = new WeakMap<Queryable, Map<string, string>>();

  /** `pacer`: how report batches refresh baselines (at most once per interval); without one, every batch. */
  constructor(
    private readonly runs: RunProjectionRepository,
    private readonly baselines: BaselineRepository,
    private readonly pacer?: BaselinePacer,
  ) {
    this.handlers = this.buildHandlers();
  }

  async apply(tx: Queryable, events: StoredEvent[]): Promise<void> {
    const pending: Pending = { steps: new Map() };
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const later = events.slice(i + 1);
      const next = events[i + 1];
      // Requested and admitted in one decision: the run row is written admitted, with the attempts queued right after.
      if (e.type === 'run.requested' && next?.type === 'run.queued') {
        const queued: QueuedAttempt[] = [];
        for (let j = i + 2; events[j]?.type === 'step.queued'; j++) {
          const q = events[j]!.data as EventData<typeof StepQueued>;
          queued.push({ stepId: q.stepId, attempt: q.attempt, queuedAt: q.queuedAt, ...(q.timeouts.heartbeatMs !== undefined && { heartbeatMs: q.timeouts.heartbeatMs }) });
        }
        await this.runRequested(tx, e.data as EventData<typeof RunRequested>, (next.data as { queuedAt: string }).queuedAt, queued);
        i += 1 + queued.length;
        continue;
      }
      if (e.type === 'run.started' && later.some((l) => ENDS_RUN_ROW.has(l.type))) {
        pending.runStartedAt = (e.data as { startedAt: string }).startedAt;
        continue;
      }
      if (e.type === 'step.started' && later.some((l) => ENDS_ATTEMPT_ROW.has(l.type) && stepIdOf(l) === stepIdOf(e))) {
        const d = e.data as { stepId: string; startedAt: string; worker?: string };
        const worker = d.worker ?? workerOf(e);
        pending.steps.set(d.stepId, { at: d.startedAt, ...(worker !== undefined && { worker }) });
        continue;
      }
      // The last attempt and the run ended in one decision: one statement for the step, attempt and run rows.
      const attempt = endOfAttemptEvent(e, pending);
      const run = next === undefined ? undefined : endOfRun(next, pending);
      if (attempt !== undefined && run !== undefined) {
        await this.runs.endAttemptAndRun(tx, attempt, run);
        if (next!.type === 'run.succeeded') {
          const d = next!.data as { workflowId: string; succeededAt: string };
          await this.refreshBaseline(tx, d.workflowId, d.succeededAt);
        }
        i++;
        continue;
      }
      const handler = this.handlers[e.type as RunEventType] as ((tx: Queryable, data: unknown, event: StoredEvent, pending: Pending) => Promise<void>) | undefined;
      await handler?.(tx, e.data, e, pending);
    }
  }

  private buildHandlers(): Handlers {
    const r = this.runs;
    const attemptEnd = (status: string) => (tx: Queryable, d: { runId: string; stepId: string; attempt: number }, pending: Pending, at: string, error?: unknown) =>
      r.endAttempt(tx, { ...endOfAttempt(d, pending, status, at), ...(error !== undefined && { error }) });
    return {
      'run.requested': (tx, d) => this.runRequested(tx, d),
      'run.queued': (tx, d) => r.markRun(tx, d.runId, 'queued', d.queuedAt, 'queued_at'),
      'run.started': (tx, d) => r.markRun(tx, d.runId, 'running', d.startedAt, 'started_at'),
      'run.awaiting_approval': (tx, d) => r.markRun(tx, d.runId, 'awaiting_approval', d.at),
      'run.resumed': (tx, d) => r.markRun(tx, d.runId, 'running', d.at),
      'run.reopened': (tx, d) => r.reopenRun(tx, d.runId, d.at),
      'run.succeeded': async (tx, d, e, pending) => {
        await r.endRun(tx, d.runId, endOfRun(e, pending)!);
        await this.refreshBaseline(tx, d.workflowId, d.succeededAt);
      },
      'run.failed': (tx, d, e, pending) => r.endRun(tx, d.runId, endOfRun(e, pending)!),
      'run.cancelled': (tx, d) => this.runStopped(tx, d.runId, 'cancelled', d.cancelledAt, { ...(d.reason !== undefined && { reason: d.reason }), ...(d.actor !== undefined && { actor: d.actor }) }),
      'run.timed_out': (tx, d) => this.runStopped(tx, d.runId, 'timed_out', d.timedOutAt, { timeoutMs: d.timeoutMs }),
      'step.queued': (tx, d) => r.queueAttempt(tx, d.runId, d.stepId, d.attempt, d.queuedAt, d.timeouts.heartbeatMs),
      'step.started': (tx, d, e) => r.startAttempt(tx, d.runId, d.stepId, d.attempt, d.startedAt, d.worker ?? workerOf(e)),
      'step.succeeded': (tx, _d, e, pending) => r.endAttempt(tx, endOfAttemptEvent(e, pending)!),
      'step.failed': (tx, _d, e, pending) => r.endAttempt(tx, endOfAttemptEvent(e, pending)!),
      'step.timed_out': async (tx, d, _e, pending) => {
        const error = { code: 'timeout', message: `${d.timeout.replace(/_/g, '-')} timeout`, retryable: d.timeout !== 'approval' };
        await attemptEnd('timed_out')(tx, d, pending, d.timedOutAt, error);
        if (d.timeout === 'approval') await r.decideApproval(tx, d.runId, d.stepId, 'timed_out', d.timedOutAt);
      },
      'step.retry_scheduled': (tx, d) => r.markStep(tx, d.runId, d.stepId, 'retrying'),
      'step.dead_lettered': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'dead_lettered');
        await r.openDeadLetter(tx, d);
      },
      'step.skipped': (tx, d) => r.markStep(tx, d.runId, d.stepId, 'skipped', d.skippedAt),
      'step.cancelled': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'cancelled', d.cancelledAt);
        await r.decideApproval(tx, d.runId, d.stepId, 'cancelled', d.cancelledAt);
      },
      'step.requeued': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'pending');
        await r.resolveDeadLetter(tx, `${d.runId}:${d.stepId}`, 'requeued', d.requeuedAt, d.actor, d.reason);
      },
      'step.dead_letter_discarded': (tx, d) => r.resolveDeadLetter(tx, `${d.runId}:${d.stepId}`, 'discarded', d.discardedAt, d.actor, d.reason),
      'approval.requested': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'awaiting_approval');
        await r.openApproval(tx, d);
      },
      'approval.granted': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'succeeded', d.grantedAt);
        await r.decideApproval(tx, d.runId, d.stepId, 'granted', d.grantedAt, d.approver, d.comment);
      },
      'approval.rejected': async (tx, d) => {
        await r.markStep(tx, d.runId, d.stepId, 'failed', d.rejectedAt);
        await r.decideApproval(tx, d.runId, d.stepId, 'rejected', d.rejectedAt, d.approver, d.comment);
      },
      'approval.escalated': (tx, d) => r.escalateApproval(tx, d.runId, d.stepId, d.dueAt),
    };
  }

  /**
   * Runs `fn` (the messages of one batch, in its transaction) with duration
   * baselines refreshed once per workflow at the end instead of after every
   * run.succeeded: the refresh reads the workflow's last N successful runs,
   * so only the one after the batch's last success counts, and it is the
   * heaviest statement of a run. Same transaction, so never behind the runs.
   */
  async withBaselinesDeferred<T>(tx: Queryable, fn: () => Promise<T>): Promise<T> {
    const pending = new Map<string, string>();
    this.deferredBaselines.set(tx, pending);
    let result: T;
    try {
      result = await fn();
    } finally {
      this.deferredBaselines.delete(tx);
    }
    if (pending.size > 0) await this.runs.settle(tx);
    for (const [workflowId, at] of [...pending].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await (this.pacer ? this.pacer.refresh(tx, workflowId, at) : this.baselines.refresh(tx, workflowId, at));
    }
    return result;
  }

  private async refreshBaseline(tx: Queryable, workflowId: string, at: string): Promise<void> {
    const deferred = this.deferredBaselines.get(tx);
    if (deferred === undefined) {
      // The refresh reads the run and step rows: what a batch holds must be in them.
      await this.runs.settle(tx);
      return this.baselines.refresh(tx, workflowId, at);
    }
    const previous = deferred.get(workflowId);
    if (previous === undefined || at > previous) deferred.set(workflowId, at);
  }

  private async runRequested(tx: Queryable, d: EventData<typeof RunRequested>, queuedAt?: string, queued?: QueuedAttempt[]): Promise<void> {
    const definition = d.definition as unknown as WorkflowDefinition;
    const slot = slotOf(definition, d.input, d.trigger);
    await this.runs.insertRun(
      tx,
      {
        runId: d.runId,
        workflowId: d.workflowId,
        version: d.version,
        trigger: d.trigger,
        ...(d.occurrence !== undefined && { occurrenceId: d.occurrence.id }),
        concurrencyKey: slot.key,
        concurrencyLimit: slot.limit,
        ...(definition.timeoutMs !== undefined && { timeoutMs: definition.timeoutMs }),
        requestedAt: d.requestedAt,
      },
      definition.steps.map((s, position) => ({ stepId: s.id, position, kind: s.kind, needs: s.needs, startToCloseMs: s.timeoutMs })),
      queuedAt,
      queued,
    );
  }

  private async runStopped(tx: Queryable, runId: string, status: string, at: string, outcome: Record<string, unknown>): Promise<void> {
    // The events carry no duration: it is measured from the request, like run.succeeded's.
    await this.runs.endRun(tx, runId, { status, at, durationMs: null, outcome });
  }
}

function endOfAttempt(d: { runId: string; stepId: string; attempt: number }, pending: Pending, status: string, at: string): AttemptEnd {
  const started = pending.steps.get(d.stepId);
  return { runId: d.runId, stepId: d.stepId, attempt: d.attempt, status, at, ...(started !== undefined && { started }) };
}

/** The row writes of a step.succeeded or step.failed (undefined for any other event). */
function endOfAttemptEvent(e: StoredEvent, pending: Pending): AttemptEnd | undefined {
  if (e.type === 'step.succeeded') {
    const d = e.data as RunEventOf<'step.succeeded'>['data'];
    const usage = usageOf(d);
    return { ...endOfAttempt(d, pending, 'succeeded', d.succeededAt), ...(usage !== undefined && { usage }) };
  }
  if (e.type === 'step.failed') {
    const d = e.data as RunEventOf<'step.failed'>['data'];
    const usage = usageOf(d);
    return { ...endOfAttempt(d, pending, 'failed', d.failedAt), error: d.error, ...(usage !== undefined && { usage }) };
  }
  return undefined;
}

/** The run row write of a run.succeeded or run.failed (undefined for any other event). */
function endOfRun(e: StoredEvent, pending: Pending): RunEnd | undefined {
  const startedAt = pending.runStartedAt === undefined ? {} : { startedAt: pending.runStartedAt };
  if (e.type === 'run.succeeded') {
    const d = e.data as RunEventOf<'run.succeeded'>['data'];
    return { status: 'succeeded', at: d.succeededAt, durationMs: d.durationMs, ...startedAt };
  }
  if (e.type === 'run.failed') {
    const d = e.data as RunEventOf<'run.failed'>['data'];
    return { status: 'failed', at: d.failedAt, durationMs: d.durationMs, outcome: { failedSteps: d.failedSteps }, ...startedAt };
  }
  return undefined;
}

function usageOf(d: { usage?: Record<string, number>; reportedUsage?: unknown[] }): unknown {
  if (d.usage === undefined && d.reportedUsage === undefined) return undefined;
  return { ...(d.usage !== undefined && { resources: d.usage }), ...(d.reportedUsage !== undefined && { reported: d.reportedUsage }) };
}

