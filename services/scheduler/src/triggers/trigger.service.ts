import type { EventEnvelope } from '@steward/contracts';
import { processOnce, type EventStore } from '@steward/event-store';
import type { Metrics } from '@steward/observability';
import { matchesTrigger } from '@steward/workflow';
import type { Pool } from 'pg';
import type { Clock } from '../clock';
import { triggeredRunRequested, triggerStreamId } from '../runs/run-request.decide';
import { appendOnce } from '../store/once.appender';
import { EVENT_CONSUMER } from '../timers/timer.service';
import type { WorkflowRepository } from '../workflows/workflow.repository';
import { TriggerLookup } from './trigger.lookup';

/**
 * `schedule: { on: <type>, where }`: one run per matching stored event, to
 * `trigger-<eventId>-<workflowId>` with `no_stream`. Paused workflows are
 * not triggered (events are not queued up for their resume), and an event
 * stored before the trigger was applied starts nothing.
 */
export class TriggerService {
  private readonly fired: ReturnType<Metrics['counter']>;
  private readonly lookup: TriggerLookup;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    workflows: WorkflowRepository,
    private readonly clock: Clock,
    metrics: Metrics,
  ) {
    this.lookup = new TriggerLookup(pool, workflows);
    this.fired = metrics.counter('steward_scheduler_runs_requested_total', 'Runs requested, by trigger (replicas racing for one occurrence count once).', ['trigger']);
  }

  /**
   * `delivered` comes unvalidated when its type has no handler of its own
   * (TriggerRoutingRegistry); it is validated here, once a workflow's trigger
   * names its type. An invalid payload then fails the delivery for good
   * (ValidationError), as the transport would have dead-lettered it.
   */
  async onEvent(delivered: EventEnvelope): Promise<void> {
    // Most events trigger nothing: one indexed read (shared with the events handled alongside), no transaction, no inbox row.
    const candidates = await this.lookup.find(delivered.type);
    if (candidates.length === 0) return;
    const e = this.validated(delivered);
    const position = e.globalposition === undefined ? undefined : BigInt(e.globalposition);
    const matching = candidates.filter((w) => {
      const schedule = w.definition.schedule;
      return schedule?.kind === 'event' && (position === undefined || position > w.triggerAfter) && matchesTrigger(schedule, { type: e.type, data: e.data });
    });
    if (matching.length === 0) return;
    const result = await processOnce(this.pool, this.store, EVENT_CONSUMER, e.id, async (tx) => {
      let appended = 0;
      for (const w of matching) {
        const event = triggeredRunRequested(w, { id: e.id, type: e.type, data: e.data }, this.clock.now());
        // The run continues the thread of the event that caused it.
        const metadata = { ...event.metadata, correlationId: e.correlationid, causationId: e.id, ...(e.traceparent !== undefined && { traceparent: e.traceparent }) };
        if ((await appendOnce(tx, this.store, triggerStreamId(e.id, w.id), [{ ...event, metadata }])) === 'appended') appended++;
      }
      return appended;
    });
    if (result.status === 'processed' && result.result > 0) this.fired.inc({ trigger: 'event' }, result.result);
  }

  private validated(e: EventEnvelope): EventEnvelope {
    const registry = this.store.registry;
    if (registry === undefined) return e;
    const { version, data } = registry.upcast(e.type, e.dataschemaversion, e.data);
    return { ...e, dataschemaversion: version, data };
  }
}
