import type { Pool } from 'pg';
import { causedBy, type EventEnvelope } from '@steward/contracts';
import { InboxBatcher, type EventStore } from '@steward/event-store';
import type { WorkflowDefinition } from '@steward/workflow';
import type { RunProjectionRepository } from '../projection/run-projection.repository';
import type { RunRequest, RunRequestService } from './run-request.service';
import { slotOf } from './run-slot.policy';

export interface RunRequestBatching {
  /** Most run requests one transaction takes. */
  maxBatch: number;
  /** How long a lone request waits for company (ms). */
  maxWaitMs: number;
  /** Batches in flight at once. */
  parallel: number;
}

/**
 * Run requests share transactions (group commit): a burst of
 * `schedule.run_requested` pays one BEGIN, one inbox statement and one
 * COMMIT per batch instead of per run. Each request still decides alone
 * (its own stream, expected version and projection rows); a batch that
 * fails is retried one request at a time by InboxBatcher, so a bad request
 * takes the transport's retry and dead-letter way alone. Requests are taken
 * in concurrency-key order: the admission lock of each limited key is held
 * until the batch commits, and two batches (two replicas) must queue on a
 * shared key, not deadlock.
 */
export function runRequestBatcher(
  pool: Pool,
  store: EventStore,
  requests: RunRequestService,
  runs: RunProjectionRepository,
  consumer: string,
  batching: RunRequestBatching,
): InboxBatcher<EventEnvelope> {
  return new InboxBatcher<EventEnvelope>(
    pool,
    store,
    { consumer, ...batching },
    (e) => e.id,
    async (tx, events, _store, later) => {
      const keyed = events.map((e) => ({ e, key: slotKeyOf(e.data as RunRequest) }));
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      // The runs' events, and their rows, are held and written in one statement each at the end of the batch.
      const all = async () => {
        for (const { e } of keyed) await requests.request(tx, e.data as RunRequest, causedBy(e), later);
      };
      await (later === undefined ? all() : runs.hold(tx, all));
    },
  );
}

function slotKeyOf(req: RunRequest): string {
  return slotOf(req.definition as unknown as WorkflowDefinition, req.input, req.trigger).key;
}
