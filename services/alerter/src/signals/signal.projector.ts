import type { EventEnvelope } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import { BUDGET_SCOPE } from '../alerts/global.conditions';
import { serviceScope, sourceScope } from '../alerts/entity.conditions';
import { workflowScope } from '../alerts/workflow.conditions';
import type { SignalBatchRepository } from '../projection/signal-batch.repository';
import type { SignalRepository } from '../projection/signal.repository';
import { BUDGET_THRESHOLD_CROSSED, BudgetCrossing, thresholdKey } from './budget.event';
import { runError, SEGMENT_BARRIERS, SignalSegment } from './signal.batch';

type Data = Record<string, any>;

/** The event types the alerter derives signals from. */
export const SIGNAL_EVENTS = [
  'workflow.applied',
  'workflow.paused',
  'workflow.resumed',
  'run.succeeded',
  'run.failed',
  'run.timed_out',
  'run.cancelled',
  'step.queued',
  'step.started',
  'step.succeeded',
  'step.failed',
  'step.timed_out',
  'step.dead_lettered',
  'step.requeued',
  'step.dead_letter_discarded',
  'collection.raw_captured',
  'collection.failed',
  BUDGET_THRESHOLD_CROSSED,
] as const;

/**
 * Folds events into the alerter's signal tables and says which scopes must
 * be re-evaluated. Idempotent per event (run ids and dead letters are keys),
 * though the inbox already makes each event arrive once.
 */
export class SignalProjector {
  constructor(
    private readonly signals: SignalRepository,
    private readonly batches: SignalBatchRepository,
  ) {}

  /**
   * A delivered batch, in delivery order: runs of events are folded into a
   * SignalSegment and written with one statement per table, then the scopes
   * they touched are evaluated (`evaluate`, with the batch index of the
   * event that touched each); a budget event (rare, and it re-reads every
   * budget) is applied alone between segments.
   */
  async applyBatch(tx: Queryable, events: readonly EventEnvelope[], evaluate: (scopes: Map<string, number>) => Promise<unknown>): Promise<void> {
    let segment = new SignalSegment();
    const flush = async () => {
      if (segment.size === 0) return;
      const scopes = new Map<string, number>();
      segment.settle(await this.batches.write(tx, segment), scopes);
      segment = new SignalSegment();
      if (scopes.size > 0) await evaluate(scopes);
    };
    for (const [i, e] of events.entries()) {
      if (SEGMENT_BARRIERS.has(e.type)) {
        await flush();
        const scopes = await this.apply(tx, e);
        if (scopes.length > 0) await evaluate(new Map(scopes.map((s) => [s, i])));
        continue;
      }
      if (segment.take(e, i)) continue;
      await flush();
      if (!segment.take(e, i)) throw new Error(`a fresh signal segment refused ${e.type} ${e.id}`);
    }
    await flush();
  }

  async apply(tx: Queryable, e: EventEnvelope): Promise<string[]> {
    const d = e.data as Data;
    switch (e.type) {
      case 'workflow.applied':
        await this.signals.upsertWorkflow(tx, {
          workflowId: d.id,
          owner: d.owner,
          runbook: d.runbook,
          successObjective: d.slo?.successRate ?? null,
          freshnessMs: d.slo?.freshnessMs ?? null,
          monthlyBudgetUsd: d.budget?.monthlyUsd ?? null,
          appliedAt: new Date(d.appliedAt),
        });
        return [workflowScope(d.id)];
      case 'workflow.paused':
      case 'workflow.resumed':
        await this.signals.setPaused(tx, d.id, e.type === 'workflow.paused');
        return [];
      case 'run.succeeded':
      case 'run.failed':
      case 'run.timed_out': {
        const recorded = await this.signals.recordRun(tx, {
          runId: d.runId,
          workflowId: d.workflowId,
          outcome: e.type === 'run.succeeded' ? 'succeeded' : e.type === 'run.failed' ? 'failed' : 'timed_out',
          durationMs: d.durationMs ?? d.timeoutMs ?? 0,
          error: runError(e.type, d),
          endedAt: new Date(d.succeededAt ?? d.failedAt ?? d.timedOutAt ?? e.time),
        });
        await this.signals.closeStalledSteps(tx, d.runId);
        return recorded ? [workflowScope(d.workflowId)] : [];
      }
      case 'run.cancelled':
        await this.signals.closeStalledSteps(tx, d.runId);
        return [workflowScope(d.workflowId)];
      case 'step.queued':
        // Where the attempt went: the service of per-service signals, and the start of its duration until step.started.
        await this.signals.recordStepQueued(tx, { runId: d.runId, stepId: d.stepId, attempt: d.attempt, workflowId: d.workflowId, service: d.target.service, at: new Date(d.queuedAt) });
        return [];
      case 'step.started':
        await this.signals.recordStepStarted(tx, { runId: d.runId, stepId: d.stepId, attempt: d.attempt, workflowId: d.workflowId, at: new Date(d.startedAt) });
        return [];
      case 'step.succeeded':
      case 'step.failed': {
        const failed = e.type === 'step.failed';
        const recorded = await this.signals.recordStepOutcome(tx, {
          runId: d.runId,
          stepId: d.stepId,
          attempt: d.attempt,
          workflowId: d.workflowId,
          outcome: failed ? 'failed' : 'succeeded',
          error: failed ? `${d.stepId}: ${d.error.code}: ${d.error.message}` : null,
          endedAt: new Date(failed ? d.failedAt : d.succeededAt),
        });
        return recorded ? [workflowScope(d.workflowId)] : [];
      }
      case 'step.timed_out': {
        // An approval that ran out of time is a decision nobody made, not a failed attempt.
        if (d.timeout === 'approval') return [];
        await this.signals.recordStepOutcome(tx, {
          runId: d.runId,
          stepId: d.stepId,
          attempt: d.attempt,
          workflowId: d.workflowId,
          outcome: 'timed_out',
          error: `${d.stepId}: attempt ${d.attempt} timed out (${d.timeout})`,
          endedAt: new Date(d.timedOutAt),
        });
        if (d.timeout === 'heartbeat') await this.signals.recordStalledStep(tx, { runId: d.runId, stepId: d.stepId, workflowId: d.workflowId, attempt: d.attempt, at: new Date(d.timedOutAt) });
        return [workflowScope(d.workflowId)];
      }
      case 'step.dead_lettered': {
        const last = (d.attempts as Array<{ error: { code: string; message: string } }>).at(-1);
        const service = await this.signals.recordDeadLetter(tx, { runId: d.runId, stepId: d.stepId, workflowId: d.workflowId, error: last ? `${d.stepId}: ${last.error.code}: ${last.error.message}` : null, at: new Date(d.deadLetteredAt) });
        return [workflowScope(d.workflowId), ...(service !== null ? [serviceScope(service)] : [])];
      }
      case 'step.requeued':
      case 'step.dead_letter_discarded': {
        const service = await this.signals.closeDeadLetter(tx, d.runId, d.stepId);
        return [workflowScope(d.workflowId), ...(service !== null ? [serviceScope(service)] : [])];
      }
      case 'collection.raw_captured':
      case 'collection.failed': {
        const ok = e.type === 'collection.raw_captured';
        const workflowId = d.workflowId ?? e.workflowid;
        const at = new Date(ok ? d.capturedAt : d.failedAt);
        const known = typeof workflowId === 'string';
        const recorded = await this.signals.recordSourceOutcome(tx, {
          eventId: e.id,
          source: d.source,
          workflowId: known ? workflowId : null,
          ok,
          error: ok ? null : `${d.source}: ${d.error.code} (${d.failureClass}): ${d.error.message}`,
          at,
        });
        if (ok && known) await this.signals.recordCapture(tx, workflowId, at);
        if (!recorded) return [];
        return [...(ok && known ? [workflowScope(workflowId)] : []), sourceScope(d.source)];
      }
      case BUDGET_THRESHOLD_CROSSED: {
        const parsed = BudgetCrossing.safeParse(d);
        if (!parsed.success) return [];
        const b = parsed.data;
        await this.signals.recordBudget(tx, {
          scope: b.scope,
          id: b.id,
          period: b.period,
          threshold: thresholdKey(b.threshold),
          state: b.state,
          owner: b.owner ?? null,
          workflowId: b.workflowId ?? (b.scope === 'workflow' ? b.id : null),
          spentMicros: BigInt(b.spentMicros),
          budgetMicros: BigInt(b.budgetMicros),
          forecastMicros: BigInt(b.forecastMicros),
          at: new Date(b.at),
        });
        return [BUDGET_SCOPE];
      }
      default:
        return [];
    }
  }
}

