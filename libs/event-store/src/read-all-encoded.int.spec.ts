import { EventEnvelopeSchema, toEnvelope, uuidv7 } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { createPool, EventStore, migrate, START } from './index';

describe('readAllEncoded (what the relay publishes)', () => {
  const env = useTestEnvironment({ label: 'readencoded', setupDatabase: (url) => migrate(url) });

  it('serializes exactly the envelope toEnvelope builds, for every metadata shape, and carries routing data only for routed types', async () => {
    const pool = env.track(createPool(env.db.url));
    const store = new EventStore(pool);
    const cause = uuidv7();
    await store.append('enc-1', [
      { type: 'test.plain', data: { a: 1, nested: { n: null, list: [1, 'two', { x: false }] }, text: 'Grüße "quoted" \\ \n' } },
      {
        type: 'timer.fired',
        data: { timerId: 't1', owner: 'executor' },
        metadata: {
          source: 'scheduler',
          correlationId: 'corr-1',
          causationId: cause,
          traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01',
          actor: 'alice',
          workflowId: 'supplier-prices',
          runId: 'run-9',
        },
      },
    ], { expected: 'no_stream' });
    await new Promise((r) => setTimeout(r, 5)); // a second transaction, later in commit order
    await store.append('enc-2', [{ type: 'test.plain', data: [] as unknown as object }], { expected: 'no_stream' });

    // Commit-safe reads wait for every older transaction on the server (other test files' too).
    const stored = await eventually(async () => {
      const { events } = await store.readAll(START);
      expect(events).toHaveLength(3);
      return events;
    }, 30_000);
    // The horizon is not monotonic (docs/architecture.md): a later statement may for a moment see less.
    const encoded = await eventually(async () => {
      const page = await store.readAllEncoded(START, { routedTypes: ['timer.fired'] });
      expect(page.events).toHaveLength(stored.length);
      return page;
    }, 30_000);
    encoded.events.forEach((e, i) => {
      const parsed = JSON.parse(e.envelope);
      expect(parsed).toEqual(toEnvelope(stored[i]!));
      expect(EventEnvelopeSchema.safeParse(parsed).success).toBe(true);
      expect(e.id).toBe(stored[i]!.eventId);
      expect(e.globalPosition).toBe(stored[i]!.globalPosition);
      expect(e.transactionId).toBe(stored[i]!.transactionId);
    });
    expect(encoded.events[0]!.routingData).toBeUndefined();
    expect(encoded.events[1]).toMatchObject({ causationId: cause, traceparent: expect.stringMatching(/^00-/), routingData: { timerId: 't1', owner: 'executor' } });
    await eventually(async () => expect(encoded.cursor).toEqual((await store.readAll(START)).cursor), 30_000);
  });
});
