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

/**
 * `schedule: { on: <type>, where }`: one run per matching stored event, to
 * `trigger-<eventId>-<workflowId>` with `no_stream`. Paused workflows are
 * not triggered (events are not queued up for their resume), and an event
 * stored before the trigger was applied starts nothing.
 */
export class TriggerService {
  private readonly fired: ReturnType<Metrics['counter']>;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly workflows: WorkflowRepository,
    private readonly clock: Clock,
    metrics: Metrics,
  ) {
    this.fired = metrics.counter('steward_scheduler_runs_requested_total', 'Runs requested, by trigger (replicas racing for one occurrence count once).', ['trigger']);
  }

  async onEvent(e: EventEnvelope): Promise<void> {
    // Most events trigger nothing: one indexed read, no transaction, no inbox row.
    const candidates = await this.workflows.findTriggeredBy(this.pool, e.type);
    if (candidates.length === 0) return;
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
}
