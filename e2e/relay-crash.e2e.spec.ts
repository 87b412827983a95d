import type { Pool } from 'pg';
import { AckPolicy, jetstream } from '@nats-io/jetstream';
import { Headers, uuidv7 } from '@steward/contracts';
import { CheckpointStore, createPool, EventStore, migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { freePort, ServiceProcess } from './service-process';

describe('ledger relay under SIGKILL', () => {
  const env = useTestEnvironment({ label: 'relaycrash', setupDatabase: (url) => migrate(url) });
  let pool: Pool;
  let store: EventStore;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 8 }));
    store = new EventStore(pool);
  });

  async function appendMany(count: number, tag: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 100) {
      const batch = Array.from({ length: Math.min(100, count - i) }, () => ({ id: uuidv7(), type: 'test.happened', data: { tag, i } }));
      await store.append(`crash-${tag}-${i}`, batch, { expected: 'no_stream' });
      ids.push(...batch.map((e) => e.id));
    }
    return ids;
  }

  async function streamCount(): Promise<number> {
    const info = await env.nats.jsm.streams.info(env.nats.subjects.stream('EVENTS')).catch(() => undefined);
    return info?.state.messages ?? 0;
  }

  it('publishes every event once after being killed mid-batch and restarted', async () => {
    const first = await appendMany(20_000, 'a');
    const serviceEnv = { ...env.env(), RELAY_BATCH_SIZE: '1000', RELAY_POLL_MS: '100', LOG_LEVEL: 'warn' };
    const ledger = new ServiceProcess('ledger', await freePort(), serviceEnv).start();
    await ledger.waitReady();

    // A consumer that watches everything the stream ever delivers.
    const stream = env.nats.subjects.stream('EVENTS');
    await env.nats.jsm.consumers.add(stream, { durable_name: 'witness', ack_policy: AckPolicy.Explicit });

    await eventually(async () => expect(await streamCount()).toBeGreaterThan(0), 20_000, 2);
    expect(await ledger.kill('SIGKILL')).toBeNull();
    const atKill = await streamCount();
    expect(atKill).toBeLessThan(first.length); // really mid-stream, not after the end

    const second = await appendMany(500, 'b'); // written while no relay runs
    const restarted = new ServiceProcess('ledger', await freePort(), serviceEnv).start();
    await restarted.waitReady();
    const all = [...first, ...second];
    await eventually(async () => expect(await streamCount()).toBe(all.length), 60_000, 200);

    const seen = new Map<string, number>();
    const consumer = await jetstream(env.nats.nc).consumers.get(stream, 'witness');
    while (true) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let n = 0;
      for await (const m of batch) {
        const id = m.headers!.get(Headers.MsgId);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        m.ack();
        n++;
      }
      if (n === 0) break;
    }
    expect(seen.size).toBe(all.length);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(all)).toEqual(new Set(seen.keys()));

    const checkpoint = await new CheckpointStore(pool).load('relay');
    expect(checkpoint).toEqual(await store.headPosition());
    expect(await restarted.kill('SIGTERM')).toBe(0);
  });
});
