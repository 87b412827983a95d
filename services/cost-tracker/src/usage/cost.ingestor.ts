import type { EventMetadata, StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { Scope, SpendDelta, SpendTotal } from '../budgets/budget.repository';
import type { BudgetRepository } from '../budgets/budget.repository';
import type { BudgetChange, BudgetService } from '../budgets/budget.service';
import { priceLine } from '../domain/cost.price';
import { formatDecimal } from '../domain/money';
import { localDayOf, periodOf } from '../domain/month.period';
import { usageOf, type UsageEvent } from '../domain/usage.extract';
import type { PriceRepository } from '../prices/price.repository';
import { CostRecordRepository, type CostRecord } from './cost-record.repository';
import { IngestContextRepository } from './ingest-context.repository';

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

export interface IngestBatchOptions {
  /** Of the threshold events the batch causes; by default each names the last event that added to its budget. */
  metadata?: EventMetadata;
  budgetChanges?: readonly BudgetChange[];
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
  private readonly context = new IngestContextRepository();

  constructor(
    private readonly prices: PriceRepository,
    private readonly budgetRepo: BudgetRepository,
    private readonly budgets: BudgetService,
    private readonly options: IngestOptions,
  ) {}

  /**
   * One batch, in its transaction: one read of its context, pricing and
   * attribution in memory, one COPY of its records, then the shared counters
   * (event volume, spend) once each with the batch's sums in key order, and
   * one threshold check for the budgets it touched.
   * Budgets the batch changed (`budgetChanges`, from workflow files) join the
   * counter update and the threshold check, so their rows are locked in the
   * same key order as the others'.
   */
  async ingest(tx: Queryable, events: readonly IngestEvent[], now: Date, options: IngestBatchOptions = {}): Promise<IngestResult> {
    const { metadata, budgetChanges = [] } = options;
    const runIds = new Set<string>();
    const workflowIds = new Set<string>();
    for (const e of events) {
      const runId = runIdOf(e);
      if (runId !== undefined) runIds.add(runId);
      const workflowId = workflowIdOf(e);
      if (workflowId !== undefined) workflowIds.add(workflowId);
    }
    const ctx = await this.context.load(tx, { runIds: [...runIds], workflowIds: [...workflowIds] });
    const prices = await this.prices.atVersion(tx, ctx.pricesVersion);

    const volume = new Map<string, number>();
    const records: CostRecord[] = [];
    const calendar = new Map<number, { period: string; day: string }>(); // lines of an event share their instant
    const calendarOf = (at: Date) => {
      let c = calendar.get(at.getTime());
      if (c === undefined) calendar.set(at.getTime(), (c = { period: periodOf(at, this.options.timeZone), day: localDayOf(at, this.options.timeZone) }));
      return c;
    };
    for (const e of events) {
      const day = utcDayOf(e.time);
      volume.set(`${e.source}|${day}`, (volume.get(`${e.source}|${day}`) ?? 0) + 1);
      const runId = runIdOf(e);
      const stepId = typeof e.data?.stepId === 'string' ? (e.data.stepId as string) : undefined;
      const run = runId === undefined ? undefined : ctx.runs.get(runId);
      const workflowId = run?.workflowId ?? workflowIdOf(e);
      // Usage of a run not seen yet (or seen before its workflow): the workflow's current owner and version.
      const wf = workflowId === undefined ? undefined : ctx.workflows.get(workflowId);
      const step = runId !== undefined && stepId !== undefined ? ctx.steps.get(`${runId}/${stepId}`) : undefined;
      for (const line of usageOf(e)) {
        const priced = priceLine(line, prices);
        if (priced === null) continue;
        const { period, day } = calendarOf(line.at);
        records.push({
          sourceEventId: e.id,
          line: line.line,
          eventType: e.type,
          occurredAt: line.at,
          period,
          day,
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
    const stored = await this.records.insert(tx, records, now);
    await this.records.countEvents(tx, volume);
    // The batch's spend summed per (workflow, owner, day) first: a few deltas, not two per record.
    const spend = new Map<string, { workflowId: string | null; owner: string | null; period: string; day: string; micros: bigint; last: number }>();
    stored.forEach((r, i) => {
      if (r.amountMicros === 0n || (r.workflowId === null && r.owner === null)) return;
      const key = `${r.workflowId}\u0000${r.owner}\u0000${r.day}`;
      const s = spend.get(key);
      if (s === undefined) spend.set(key, { workflowId: r.workflowId, owner: r.owner, period: r.period, day: r.day, micros: r.amountMicros, last: i });
      else {
        s.micros += r.amountMicros;
        s.last = i;
      }
    });
    const deltas: SpendDelta[] = [];
    const lastRecord = new Map<string, number>(); // per budget, the last record that added to it: its event is the cause
    for (const s of spend.values()) {
      const add = (scope: Scope, id: string) => {
        deltas.push({ scope, id, period: s.period, day: s.day, micros: s.micros });
        const k = `${scope}/${id}`;
        if ((lastRecord.get(k) ?? -1) < s.last) lastRecord.set(k, s.last);
      };
      if (s.workflowId !== null) add('workflow', s.workflowId);
      if (s.owner !== null) add('owner', s.owner);
    }
    for (const c of budgetChanges) deltas.push(this.budgets.changeDelta(c, now));
    const byId = new Map(events.map((e) => [e.id, e]));
    const changed = new Map(budgetChanges.map((c) => [`${c.budget.scope}/${c.budget.id}`, c.metadata]));
    // The workflow file that changed a budget causes its check; otherwise the last usage that added to it.
    const metadataOf = (t: SpendTotal) =>
      metadata ?? changed.get(`${t.scope}/${t.id}`) ?? causedByUsage(byId.get(stored[lastRecord.get(`${t.scope}/${t.id}`)!]!.sourceEventId)!);
    const totals = await this.budgetRepo.addSpend(tx, deltas);
    const crossed = await this.budgets.afterSpend(tx, totals, now, metadataOf, budgetChanges);
    return { records: stored, events: crossed };
  }
}

/** UTC day of an envelope time: the date part when it is already UTC (as the store writes it), parsed otherwise. */
function utcDayOf(time: string): string {
  return time.length === 24 && time.endsWith('Z') ? time.slice(0, 10) : new Date(time).toISOString().slice(0, 10);
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
