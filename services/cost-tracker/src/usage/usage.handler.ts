import { causedBy, type EventEnvelope, type StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { BudgetRepository } from '../budgets/budget.repository';
import type { BudgetChange, BudgetService } from '../budgets/budget.service';
import type { Threshold } from '../domain/budget.evaluate';
import { usdToMicros } from '../domain/money';
import type { AttributionRepository } from './attribution.repository';
import type { CostIngestor } from './cost.ingestor';

const RUN_ENDS: Record<string, { status: string; at: string }> = {
  'run.succeeded': { status: 'succeeded', at: 'succeededAt' },
  'run.failed': { status: 'failed', at: 'failedAt' },
  'run.cancelled': { status: 'cancelled', at: 'cancelledAt' },
  'run.timed_out': { status: 'timed_out', at: 'timedOutAt' },
};

/**
 * Everything the cost tracker does with one event, inside its inbox
 * transaction: keep the attribution projection (workflows, runs, steps),
 * take a workflow's budget from its definition, then cost the event's usage.
 */
export class UsageHandler {
  constructor(
    private readonly attribution: AttributionRepository,
    private readonly budgetRepo: BudgetRepository,
    private readonly budgets: BudgetService,
    private readonly ingestor: CostIngestor,
    private readonly defaultThresholds: readonly Threshold[],
  ) {}

  async handle(tx: Queryable, envelope: EventEnvelope, now: Date): Promise<StoredEvent[]> {
    return this.handleBatch(tx, [envelope], now);
  }

  /**
   * Several events in one transaction (the batcher's path): projections in
   * delivery order first, so a run requested earlier in the batch attributes
   * usage later in it, then one ingest of all of them. A budget a workflow
   * file changed is recorded and checked with the batch's spend, once its
   * counter rows are locked in the order every batch takes them. A
   * threshold event names as its cause the workflow file that changed its
   * budget, or else the last event of the batch that added to it.
   */
  async handleBatch(tx: Queryable, envelopes: readonly EventEnvelope[], now: Date): Promise<StoredEvent[]> {
    if (envelopes.length === 0) return [];
    const budgetChanges: BudgetChange[] = [];
    for (const e of envelopes) await this.project(tx, e, now, budgetChanges);
    return (await this.ingestor.ingest(tx, envelopes, now, { budgetChanges })).events;
  }

  private async project(tx: Queryable, envelope: EventEnvelope, now: Date, budgetChanges: BudgetChange[]): Promise<void> {
    const d = envelope.data as any;
    switch (envelope.type) {
      case 'workflow.applied':
        await this.workflowApplied(tx, envelope, d, now, budgetChanges);
        break;
      case 'run.requested':
        await this.attribution.recordRun(tx, { runId: d.runId, workflowId: d.workflowId, version: d.version, requestedAt: new Date(d.requestedAt) });
        break;
      case 'step.queued': {
        const target = d.target as { service: string; queue?: string };
        await this.attribution.recordStep(tx, { runId: d.runId, stepId: d.stepId, kind: d.kind, service: target.service, queue: target.queue ?? null });
        break;
      }
      default: {
        const end = RUN_ENDS[envelope.type];
        if (end !== undefined) await this.attribution.recordRunEnd(tx, d.runId, end.status, new Date(d[end.at]), typeof d.durationMs === 'number' ? d.durationMs : null);
      }
    }
  }

  private async workflowApplied(tx: Queryable, envelope: EventEnvelope, d: any, now: Date, budgetChanges: BudgetChange[]): Promise<void> {
    const budgetMicros = d.budget?.monthlyUsd === undefined ? null : usdToMicros(d.budget.monthlyUsd as number);
    await this.attribution.recordWorkflow(tx, { id: d.id, version: d.version, owner: d.owner, budgetMicros, at: new Date(d.appliedAt) });
    if (budgetMicros === null) return;
    // A budget changed earlier in this batch is not stored yet: compare with that one.
    const pending = budgetChanges.findLast((c) => c.budget.scope === 'workflow' && c.budget.id === d.id)?.budget;
    const current = pending ?? (await this.budgetRepo.find(tx, 'workflow', d.id));
    if (current?.monthlyMicros === budgetMicros) return;
    const budget = { scope: 'workflow' as const, id: d.id as string, monthlyMicros: budgetMicros, thresholds: current?.thresholds ?? [...this.defaultThresholds], origin: 'workflow' as const };
    budgetChanges.push(this.budgets.change(budget, now, causedBy(envelope, { workflowId: d.id })));
  }
}
