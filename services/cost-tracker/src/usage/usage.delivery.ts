import { allEvents, type EventEnvelope } from '@steward/contracts';
import type { BatchDelivery } from '@steward/messaging';
import type { InboxBatcher } from '@steward/event-store';

export const EVENTS_CONSUMER = 'cost-tracker';

/**
 * Every event type: each stored event counts towards its service's event
 * volume, and the usage-bearing ones (task attempts, captures,
 * transformations) become cost records. The transport hands over the
 * messages of a fetch together (batch delivery: no per-message handler call,
 * span or timer); they share one inbox transaction (UsageBatcher) and each
 * is acked once it committed, or retried alone when it failed.
 */
export function usageDelivery(batcher: Pick<InboxBatcher<EventEnvelope>, 'submit'>, maxMessages: number): BatchDelivery {
  return {
    types: allEvents.map((e) => e.type),
    maxMessages,
    handle: (items) => Promise.allSettled(items.map((i) => batcher.submit(i.envelope))),
  };
}
