import type { Pool } from 'pg';
import type { EventEnvelope } from '@steward/contracts';
import type { Metrics } from '@steward/observability';
import { InboxBatcher, type EventStore, type InboxBatcherOptions } from '@steward/event-store';
import type { Clock } from '../clock';
import type { UsageHandler } from './usage.handler';

export type UsageBatcher = InboxBatcher<EventEnvelope>;

/**
 * Every event passes through the cost tracker (event volume), so one
 * transaction per event would cap it at what one hot budget row allows.
 * The events the transport is handling at once share one inbox transaction
 * (InboxBatcher: group commit, a failing batch retried one event at a time);
 * projections in delivery order, then one ingest of all of them.
 */
export function usageBatcher(pool: Pool, store: EventStore, handler: UsageHandler, clock: Clock, options: Omit<InboxBatcherOptions, 'onBatch'>, metrics: Metrics): UsageBatcher {
  const size = metrics.histogram('steward_cost_batch_events', 'Events per cost-tracker transaction', [], [1, 5, 10, 25, 50, 100, 200, 500]);
  const seconds = metrics.histogram('steward_cost_batch_duration_seconds', 'Duration of a cost-tracker batch transaction', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  return new InboxBatcher<EventEnvelope>(
    pool,
    store,
    {
      ...options,
      onBatch: (n, s) => {
        size.observe(n);
        seconds.observe(s);
      },
    },
    (e) => e.id,
    async (tx, envelopes) => {
      await handler.handleBatch(tx, envelopes, clock.now());
    },
  );
}
