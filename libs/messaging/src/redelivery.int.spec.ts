import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { eventually, useTestEnvironment } from '@steward/testing';
import { parseDeadLetter } from './dead-letter.publisher';
import { publishEvent } from './event.publisher';
import type { JetStreamContext } from './jetstream.context';
import type { JetStreamServer } from './jetstream.server';
import { envelope, memoryLogger, readStream, registryOf, sleep, startMicroservice } from './test.fixtures';

const deliveries: Record<string, Array<{ count: number; at: number }>> = {};
const record = (key: string, ctx: JetStreamContext) => (deliveries[key] ??= []).push({ count: ctx.getDeliveryCount(), at: Date.now() });
let slowMs = 0;
const finished: string[] = [];

@Controller()
class FlakyController {
  @EventPattern<string>('flaky.recovers')
  recovers(_: unknown, @Ctx() ctx: JetStreamContext): void {
    record('recovers', ctx);
    if (ctx.getDeliveryCount() < 3) throw new Error('database unavailable');
  }

  @EventPattern<string>('flaky.never')
  never(_: unknown, @Ctx() ctx: JetStreamContext): void {
    record('never', ctx);
    throw new Error(`still broken (delivery ${ctx.getDeliveryCount()})`);
  }

  @EventPattern<string>('slow.job')
  async slow(_: unknown, @Ctx() ctx: JetStreamContext): Promise<void> {
    record('slow', ctx);
    await sleep(slowMs);
    finished.push(`slow#${ctx.getDeliveryCount()}`);
  }
}

@Module({ controllers: [FlakyController] })
class FlakyModule {}

describe('redelivery and shutdown', () => {
  const env = useTestEnvironment({ label: 'msgretry' });
  const registry = registryOf('flaky.recovers', 'flaky.never', 'slow.job');

  describe('retries', () => {
    let app: INestMicroservice;
    beforeAll(async () => {
      const { subjects } = env.nats;
      ({ app } = await startMicroservice(FlakyModule, {
        natsUrl: env.nats.url,
        subjects,
        service: 'flaky',
        registry,
        logger: memoryLogger(),
        consumers: [
          { stream: 'EVENTS', filter: subjects.category('flaky'), maxDeliver: 3, backoffMs: [300, 600], ackWaitMs: 10_000 },
          // Two slots: a pull request is waiting while the slow handler runs, so a lapsed ack_wait would show as a redelivery.
          { durable: 'flaky-slow', stream: 'EVENTS', filter: subjects.category('slow'), ackWaitMs: 1_000, concurrency: 2 },
        ],
      }));
    });
    afterAll(() => app?.close());

    it('redelivers a transiently failing message after a growing nak delay until it succeeds', async () => {
      const e = envelope('flaky.recovers', { n: 1 });
      await publishEvent(jetstream(env.nats.nc), env.nats.subjects, e);
      await eventually(() => expect(deliveries.recovers?.map((d) => d.count)).toEqual([1, 2, 3]), 10_000);
      const [a, b, c] = deliveries.recovers!;
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(280);
      expect(c!.at - b!.at).toBeGreaterThanOrEqual(580);
      await eventually(async () => {
        const info = await env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'flaky');
        expect(info.num_ack_pending).toBe(0);
      });
      const letters = await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'));
      expect(letters).toHaveLength(0);
    });

    it('dead-letters a message that fails on every allowed delivery, with the last error', async () => {
      const e = envelope('flaky.never', { n: 1 });
      const ack = await publishEvent(jetstream(env.nats.nc), env.nats.subjects, e);
      const letter = await eventually(async () => {
        const [m] = await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'));
        if (!m) throw new Error('not dead-lettered yet');
        return parseDeadLetter({ data: m.data, headers: m.header });
      }, 10_000);
      expect(letter).toMatchObject({
        reason: 'max_deliver_exhausted',
        consumer: 'flaky',
        streamSequence: ack.seq,
        deliveries: 3,
        error: { message: 'still broken (delivery 3)' },
      });
      expect(JSON.parse(new TextDecoder().decode(letter.data)).id).toBe(e.id);
      await sleep(800);
      expect(deliveries.never?.map((d) => d.count)).toEqual([1, 2, 3]);
    });

    it('keeps a handler that outlives ack_wait alive with working(), so it is not redelivered', async () => {
      slowMs = 2_500;
      await publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope('slow.job', { n: 1 }));
      await eventually(() => expect(finished).toContain('slow#1'), 10_000);
      await sleep(300);
      expect(deliveries.slow?.map((d) => d.count)).toEqual([1]);
      const info = await env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'flaky-slow');
      expect(info).toMatchObject({ num_redelivered: 0, num_ack_pending: 0 });
    });
  });

  describe('close()', () => {
    const start = async (service: string, drainTimeoutMs: number) =>
      startMicroservice(FlakyModule, {
        natsUrl: env.nats.url,
        subjects: env.nats.subjects,
        service,
        registry,
        logger: memoryLogger(),
        drainTimeoutMs,
        consumers: [{ stream: 'EVENTS', filter: env.nats.subjects.event('slow.job', service), ackWaitMs: 30_000 }],
      });
    const consumer = (service: string) => env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), service);

    it('waits for an in-flight handler, acks its message, then drains the connection', async () => {
      const { app, server } = await start('closer', 10_000);
      slowMs = 1_000;
      finished.length = 0;
      deliveries.slow = [];
      await publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope('slow.job', { n: 1 }), registryWithRoute('closer'));
      await eventually(() => expect(deliveries.slow).toHaveLength(1));
      const nc = server.unwrap<NatsConnection>();
      await app.close();
      expect(finished).toEqual(['slow#1']);
      expect(nc.isClosed()).toBe(true);
      expect(server.isReady()).toBe(false);
      expect(await consumer('closer')).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
    });

    it('gives up waiting after drainTimeoutMs and leaves the message for redelivery', async () => {
      const { app } = await start('impatient', 200);
      slowMs = 3_000;
      finished.length = 0;
      deliveries.slow = [];
      await publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope('slow.job', { n: 1 }), registryWithRoute('impatient'));
      await eventually(() => expect(deliveries.slow).toHaveLength(1));
      const t0 = Date.now();
      await app.close();
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(finished).toEqual([]);
      expect((await consumer('impatient')).num_ack_pending).toBe(1);
      await sleep(slowMs); // let the abandoned handler finish before the environment goes
    });
  });

  /** Routes slow.job to `<service>` so each close() test has its own consumer filter. */
  function registryWithRoute(service: string) {
    const r = registryOf('flaky.recovers', 'flaky.never');
    const def = registryOf('slow.job').get('slow.job');
    return r.register({ ...def, route: () => service });
  }
});
