import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { toEnvelope, type EventRegistry, type Subjects } from '@steward/contracts';
import { START, type Cursor, type EventStore } from '@steward/event-store';
import { publishEvent } from '@steward/messaging';

/**
 * What the ledger's relay does, reduced to a polling loop for in-process
 * tests: tail the store in commit-safe order and publish each event with
 * its id as Nats-Msg-Id. Service tests must not import the ledger (services never import each other).
 */
export function startStoreRelay(store: EventStore, nc: NatsConnection, subjects: Subjects, registry: EventRegistry): { stop(): Promise<void> } {
  const js = jetstream(nc);
  let running = true;
  let cursor: Cursor = START;
  const loop = (async () => {
    while (running) {
      const page = await store.readAll(cursor, { limit: 500 }).catch(() => ({ events: [], cursor }));
      try {
        for (const e of page.events) await publishEvent(js, subjects, toEnvelope(e), registry, { fromStore: true });
      } catch (err) {
        if (!running) break; // the connection closed under a stop
        throw err;
      }
      cursor = page.cursor;
      if (page.events.length === 0) await new Promise((r) => setTimeout(r, 15));
    }
  })();
  // A publish that failed while running is the test's failure: kept here and thrown by stop(), never an unhandled rejection.
  let failure: unknown;
  const settled = loop.catch((err: unknown) => {
    failure = err;
  });
  return {
    async stop() {
      running = false;
      await settled;
      if (failure !== undefined) throw failure;
    },
  };
}
