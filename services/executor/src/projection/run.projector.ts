import type { EventData, RunRequested, StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { RunEventOf, RunEventType, WorkflowDefinition } from '@steward/workflow';
import { slotOf } from '../runs/run-slot.policy';
import type { BaselineRepository } from './baseline.repository';
import type { RunProjectionRepository } from './run-projection.repository';

type Handlers = { [T in RunEventType]: (tx: Queryable, data: RunEventOf<T>['data']) => Promise<void> };

/**
 * Folds run events into the executor's projection tables, in the
 * transaction that appended them. A switch-like table with one entry per
 * run event type: the compiler refuses a type without one.
 */
export class RunProjector {
  private readonly handlers: Handlers;

  constructor(
    private readonly runs: RunProjectionRepository,
    private readonly baselines: BaselineRepository,
  ) {
    this.handlers = this.buildHandlers();
  }

  async apply(tx: Queryable, events: StoredEvent[]): Promise<void> {
    for (const e of events) {
      const handler = this.handlers[e.type as RunEventType] as ((tx: Queryable, data: unknown) => Promise<void>) | undefined;
      await handler?.(tx, e.data);
    }
  }

  private buildHandlers(): Handlers {
    const r = this.runs;
    const attemptEnd = (status: string) => (tx: Queryable, d: { runId: string; stepId: string; attempt: number }, at: string, error?: unknown, usage?: unknown) =>
      r.endAttempt(tx, { runId: d.runId, stepId: d.stepId, attempt: d.attempt, status, at, error, usage });
    return {
      'run.requested': (tx, d) => this.runRequested(tx, d),
      'run.queued': (tx, d) => r.markRun(tx, d.runId, 'queued', d.queuedAt, 'queued_at'),
      'run.started': (tx, d) => r.markRun(tx, d.runId, 'running', d.startedAt, 'started_at'),
      'run.awaiting_approval': (tx, d) => r.markRun(tx, d.runId, 'awaiting_approval', d.at),
      'run.resumed': (tx, d) => r.markRun(tx, d.runId, 'running', d.at),
      'run.reopened': (tx, d) => r.reopenRun(tx, d.runId, d.at),
      'run.succeeded': async (tx, d) => {
        await r.endRun(tx, d.runId, 'succeeded', d.succeededAt, d.durationMs);
        await this.baselines.refresh(tx, d.workflowId, d.succeededAt);
      },
      'run.failed': (tx, d) => r.endRun(tx, d.runId, 'failed', d.failedAt, d.durationMs, { failedSteps: d.failedSteps }),
      'run.cancelled': (tx, d) => this.runStopped(tx, d.runId, 'cancelled', d.cancelledAt, { ...(d.reason !== undefined && { reason: d.reason }), ...(d.actor !== undefined && { actor: d.actor }) }),
      'run.timed_out': (tx, d) => this.runStopped(tx, d.runId, 'timed_out', d.timedOutAt, { timeoutMs: d.timeoutMs }),
      'step.queued': (tx, d) => r.queueAttempt(tx, d.runId, d.stepId, d.attempt, d.queuedAt, d.timeouts.heartbeatMs),
      'step.started': (tx, d) => r.startAttempt(tx, d.runId, d.stepId, d.attempt, d.startedAt, d.worker),
      'step.succeeded': (tx, d) => attemptEnd('succeeded')(tx, d, d.succeededAt, undefined, usageOf(d)),
      'step.failed': (tx, d) => attemptEnd('failed')(tx, d, d.failedAt, d.error, usageOf(d)),
      'step.timed_out': async (tx, d) => {
        const error = { code: 'timeout', message: `${d.timeout.replace(/_/g, '-')} timeout`, retryable: d.timeout !== 'approval' };
        await attemptEnd('timed_out')(tx, d, d.timedOutAt, error);
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

  private async runRequested(tx: Queryable, d: EventData<typeof RunRequested>): Promise<void> {
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
    );
  }

  private async runStopped(tx: Queryable, runId: string, status: string, at: string, outcome: Record<string, unknown>): Promise<void> {
    // The events carry no duration: it is measured from the request, like run.succeeded's.
    await this.runs.endRun(tx, runId, status, at, null, outcome);
  }
}

function usageOf(d: { usage?: Record<string, number>; reportedUsage?: unknown[] }): unknown {
  if (d.usage === undefined && d.reportedUsage === undefined) return undefined;
  return { ...(d.usage !== undefined && { resources: d.usage }), ...(d.reportedUsage !== undefined && { reported: d.reportedUsage }) };
}

