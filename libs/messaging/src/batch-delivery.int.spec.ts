import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import { Module, type INestMicroservice } from '@nestjs/common';
import { eventually, useTestEnvironment } from '@steward/testing';
import { parseDeadLetter } from './dead-letter.publisher';
import { encodeJson } from './envelope.codec';
import { publishEvent } from './event.publisher';
import type { BatchItem } from './jetstream.server';
import { envelope, memoryLogger, readStream, registryOf, sleep, startMicroservice } from './test.fixtures';

@Module({})
class NoHandlersModule {}

describe('batch delivery', () => {
  const env = useTestEnvironment({ label: 'msgbatch' });
  const registry = registryOf('work.done', 'work.poison', 'work.other', 'work.slow');
  const calls: Array<Array<{ type: string; n: number; deliveries: number }>> = [];
  let slowMs = 0;
  let app: INestMicroservice;

  async function handle(items: readonly BatchItem[]): Promise<PromiseSettledResult<unknown>[]> {
    calls.push(items.map((i) => ({ type: i.envelope.type, n: (i.envelope.data as { n: number }).n, deliveries: i.ctx.getDeliveryCount() })));
    if (items.some((i) => i.envelope.type === 'work.slow')) await sleep(slowMs);
    return items.map((i): PromiseSettledResult<unknown> =>
      i.envelope.type === 'work.poison' ? { status: 'rejected', reason: new Error(`poison ${(i.envelope.data as { n: number }).n}`) } : { status: 'fulfilled', value: undefined },
    );
  }

  beforeAll(async () => {
    const { subjects } = env.nats;
    ({ app } = await startMicroservice(NoHandlersModule, {
      natsUrl: env.nats.url,
      subjects,
      service: 'batcher',
      registry,
      logger: memoryLogger(),
      consumers: [
        {
          stream: 'EVENTS',
          filter: subjects.category('work'),
          concurrency: 200,
          maxDeliver: 2,
          backoffMs: [100],
          ackWaitMs: 1_000,
          batch: { types: ['work.done', 'work.poison', 'work.slow'], maxMessages: 100, handle },
        },
      ],
    }));
  });
  afterAll(() => app?.close());

  const pending = async () => env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'batcher');

  it('hands the messages of a fetch over together, decoded and upcast, in delivery order, and acks each', async () => {
    const js = jetstream(env.nats.nc);
    // v1 payloads ({ count }) arrive upcast to v2 ({ n }), as on the per-message path.
    await Promise.all(Array.from({ length: 250 }, (_, i) => publishEvent(js, env.nats.subjects, envelope('work.done', { count: i }, { dataschemaversion: 1 }))));
    await eventually(async () => expect((await pending()).num_ack_pending + (await pending()).num_pending).toBe(0), 10_000);
    const seen = calls.flat().filter((c) => c.type === 'work.done');
    expect(seen.map((c) => c.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    // Far fewer calls than messages, none larger than maxMessages.
    expect(calls.length).toBeLessThanOrEqual(25);
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(100);
    expect(Math.max(...calls.map((c) => c.length))).toBeGreaterThan(1);
    for (const c of calls) expect(c.map((x) => x.n)).toEqual([...c.map((x) => x.n)].sort((a, b) => a - b));
  });

  it('settles each message alone: a rejected one is retried then dead-lettered, its batch-mates are acked once', async () => {
    calls.length = 0;
    const js = jetstream(env.nats.nc);
    await publishEvent(js, env.nats.subjects, envelope('work.done', { n: 1000 }));
    const poison = await publishEvent(js, env.nats.subjects, envelope('work.poison', { n: 7 }));
    await publishEvent(js, env.nats.subjects, envelope('work.done', { n: 1001 }));
    const letter = await eventually(async () => {
      const m = (await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'))).find((x) => x.seq > 0 && parseDeadLetter({ data: x.data, headers: x.header }).streamSequence === poison.seq);
      if (!m) throw new Error('not dead-lettered yet');
      return parseDeadLetter({ data: m.data, headers: m.header });
    }, 10_000);
    expect(letter).toMatchObject({ reason: 'max_deliver_exhausted', consumer: 'batcher', deliveries: 2, error: { message: 'poison 7' } });
    const flat = calls.flat();
    expect(flat.filter((c) => c.type === 'work.poison').map((c) => c.deliveries)).toEqual([1, 2]);
    expect(flat.filter((c) => c.type === 'work.done').map((c) => c.n).sort()).toEqual([1000, 1001]);
  });

  it('dead-letters an invalid envelope and skips types it does not handle, without calling the handler for them', async () => {
    calls.length = 0;
    const js = jetstream(env.nats.nc);
    const bad = await js.publish(env.nats.subjects.event('work.done'), encodeJson({ specversion: '1.0', type: 'work.done' }));
    await publishEvent(js, env.nats.subjects, envelope('work.other', { n: 1 }));
    await publishEvent(js, env.nats.subjects, envelope('work.done', { n: 2000 }));
    await eventually(async () => {
      const letters = (await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'))).map((m) => parseDeadLetter({ data: m.data, headers: m.header }));
      expect(letters.find((l) => l.streamSequence === bad.seq)).toMatchObject({ reason: 'invalid_envelope' });
    }, 10_000);
    await eventually(async () => expect((await pending()).num_ack_pending + (await pending()).num_pending).toBe(0), 10_000);
    expect(calls.flat().map((c) => `${c.type}:${c.n}`)).toEqual(['work.done:2000']);
  });

  it('keeps a batch that outlives ack_wait alive, so none of its messages is redelivered', async () => {
    calls.length = 0;
    slowMs = 2_500;
    const js = jetstream(env.nats.nc);
    await Promise.all([publishEvent(js, env.nats.subjects, envelope('work.slow', { n: 1 })), publishEvent(js, env.nats.subjects, envelope('work.done', { n: 3000 }))]);
    await eventually(async () => expect((await pending()).num_ack_pending + (await pending()).num_pending).toBe(0), 10_000);
    await sleep(300);
    expect(calls.flat().every((c) => c.deliveries === 1)).toBe(true);
    slowMs = 0;
  });
});
