import type { EventMetadata, StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { Scope, SpendDelta } from '../budgets/budget.repository';
import type { BudgetRepository } from '../budgets/budget.repository';
import type { BudgetService } from '../budgets/budget.service';
import { priceLine } from '../domain/cost.price';
import { formatDecimal } from '../domain/money';
import { localDayOf, periodOf } from '../domain/month.period';
import { usageOf, type UsageEvent } from '../domain/usage.extract';
import type { PriceRepository } from '../prices/price.repository';
import type { AttributionRepository } from './attribution.repository';
import { CostRecordRepository, type CostRecord } from './cost-record.repository';

/** An event as ingestion needs it: the envelope's id, type, source, time, data and run/workflow extensions. */
export interface IngestEvent extends UsageEvent {
  workflowid?: string;
  runid?: string;
  correlationid?: string;
  traceparent?: string;
}

export interface IngestOptions {
  timeZone: string;
  environment: string;
}

export interface IngestResult {
  records: CostRecord[];
  events: StoredEvent[];
}

/**
 * Usage events to cost records: extract usage lines, attribute them (workflow
 * and version, run, step, service, queue, owner, environment), price each at
 * the rate in force at its usage time, store them, add their amounts to the
 * workflow and owner budgets of their month, and check thresholds. Works on a
 * batch so the same code serves one message and the benchmark's bulk path.
 */
export class CostIngestor {
  private readonly records = new CostRecordRepository();

  constructor(
    private readonly prices: PriceRepository,
    private readonly attribution: AttributionRepository,
    private readonly budgetRepo: BudgetRepository,
    private readonly budgets: BudgetService,
    private readonly options: IngestOptions,
  ) {}

  /** `metadata`: of the threshold events a batch causes; by default each names the last event that added to its budget. */
  async ingest(tx: Queryable, events: readonly IngestEvent[], now: Date, metadata?: EventMetadata): Promise<IngestResult> {
    const prices = await this.prices.current(tx);
    const runIds = [...new Set(events.map((e) => runIdOf(e)).filter((r): r is string => r !== undefined))];
    const [runs, steps] = await Promise.all([this.attribution.runs(tx, runIds), this.attribution.steps(tx, runIds)]);
    // Usage of a run not seen yet (or seen before its workflow): the workflow's current owner and version.
    const unknownWorkflows = [
      ...new Set(
        events
          .filter((e) => (runs.get(runIdOf(e) ?? '')?.owner ?? null) === null)
          .map((e) => runs.get(runIdOf(e) ?? '')?.workflowId ?? workflowIdOf(e))
          .filter((w): w is string => w !== undefined),
      ),
    ];
    const workflows = await this.attribution.workflows(tx, unknownWorkflows);

    const volume = new Map<string, number>();
    const candidates: CostRecord[] = [];
    for (const e of events) {
      const day = new Date(e.time).toISOString().slice(0, 10);
      volume.set(`${e.source}|${day}`, (volume.get(`${e.source}|${day}`) ?? 0) + 1);
      const runId = runIdOf(e);
      const stepId = typeof e.data?.stepId === 'string' ? (e.data.stepId as string) : undefined;
      const run = runId === undefined ? undefined : runs.get(runId);
      const workflowId = run?.workflowId ?? workflowIdOf(e);
      const wf = workflowId === undefined ? undefined : workflows.get(workflowId);
      const step = runId !== undefined && stepId !== undefined ? steps.get(`${runId}/${stepId}`) : undefined;
      for (const line of usageOf(e)) {
        const priced = priceLine(line, prices);
        if (priced === null) continue;
        candidates.push({
          sourceEventId: e.id,
          line: line.line,
          eventType: e.type,
          occurredAt: line.at,
          period: periodOf(line.at, this.options.timeZone),
          day: localDayOf(line.at, this.options.timeZone),
          resource: line.resource,
          unit: line.unit,
          quantity: formatDecimal(line.quantity),
          durationMs: line.durationMs ?? null,
          rateMicros: priced.rateMicros,
          rateSource: priced.rateSource,
          priceMatch: priced.priceMatch,
          priceFrom: priced.priceFrom,
          amountMicros: priced.amountMicros,
          workflowId: workflowId ?? null,
          workflowVersion: run?.version ?? wf?.version ?? null,
          runId: runId ?? null,
          stepId: stepId ?? null,
          service: line.service ?? step?.service ?? e.source,
          queue: step?.queue ?? null,
          owner: run?.owner ?? wf?.owner ?? null,
          environment: this.options.environment,
        });
      }
    }

    // Rows every transaction shares (event volume, budget counters) are written last, so their locks are held briefly.
    const inserted = await this.records.insert(tx, candidates, now);
    await this.records.countEvents(tx, volume);
    const deltas: SpendDelta[] = [];
    const byId = new Map(events.map((e) => [e.id, e]));
    const causes = new Map<string, IngestEvent>();
    for (const r of inserted) {
      if (r.amountMicros === 0n) continue;
      const add = (scope: Scope, id: string) => {
        deltas.push({ scope, id, period: r.period, day: r.day, micros: r.amountMicros });
        causes.set(`${scope}/${id}`, byId.get(r.sourceEventId)!);
      };
      if (r.workflowId !== null) add('workflow', r.workflowId);
      if (r.owner !== null) add('owner', r.owner);
    }
    const totals = await this.budgetRepo.addSpend(tx, deltas);
    const crossed = await this.budgets.afterSpend(tx, totals, now, (scope, id) => metadata ?? causedByUsage(causes.get(`${scope}/${id}`)!));
    return { records: inserted, events: crossed };
  }
}

/** A threshold event caused by usage joins that usage's correlation (its run), so it shows in the run's timeline. */
function causedByUsage(e: IngestEvent): EventMetadata {
  const runId = runIdOf(e);
  return {
    correlationId: e.correlationid ?? e.id,
    causationId: e.id,
    ...(e.traceparent !== undefined && { traceparent: e.traceparent }),
    ...(runId !== undefined && { runId }),
  };
}

function runIdOf(e: IngestEvent): string | undefined {
  return typeof e.data?.runId === 'string' ? e.data.runId : e.runid;
}

function workflowIdOf(e: IngestEvent): string | undefined {
  return typeof e.data?.workflowId === 'string' ? e.data.workflowId : e.workflowid;
}
