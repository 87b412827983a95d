import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { lastValueFrom } from 'rxjs';
import { publishEvent } from './event.publisher';
import { JetStreamClient } from './jetstream.client';
import type { JetStreamContext } from './jetstream.context';
import { JetStreamServer } from './jetstream.server';
import { envelope, memoryLogger, registryOf, sleep, startMicroservice } from './test.fixtures';

const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const seen: Array<{ data: EventEnvelope; traceparent?: string; deliveries: number; seq: number }> = [];
let onHappened: (data: EventEnvelope, ctx: JetStreamContext) => Promise<void> = async () => {};

@Controller()
class ProbeController {
  @EventPattern<string>('alpha.happened')
  async happened(@Payload() data: EventEnvelope, @Ctx() ctx: JetStreamContext): Promise<void> {
    seen.push({ data, deliveries: ctx.getDeliveryCount(), seq: ctx.getStreamSequence(), ...(ctx.getTraceparent() && { traceparent: ctx.getTraceparent() }) });
    await onHappened(data, ctx);
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('JetStream transport for Nest microservices', () => {
  const env = useTestEnvironment({ label: 'msgserver' });
  // Nested so the app closes (its afterAll) before the environment removes the streams.
  describe('with a running microservice', () => {
    const registry = registryOf('alpha.happened', 'alpha.ignored');
    let app: INestMicroservice;
    let server: JetStreamServer;

    beforeAll(async () => {
      const { subjects } = env.nats;
      ({ app, server } = await startMicroservice(ProbeModule, {
        natsUrl: env.nats.url,
        subjects,
        service: 'probe',
        registry,
        logger: memoryLogger(),
        consumers: [{ stream: 'EVENTS', filter: subjects.category('alpha'), ackWaitMs: 5_000 }],
      }));
    });
    afterAll(() => app?.close());
    beforeEach(() => {
      seen.length = 0;
      onHappened = async () => {};
    });

    const consumerInfo = () => env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'probe');

    it('is ready once its consumers are bound', () => {
      expect(server.isReady()).toBe(true);
    });

    it('hands each published event to its @EventPattern handler exactly once and acks it', async () => {
      const js = jetstream(env.nats.nc);
      const events = [
        envelope('alpha.happened', { n: 1 }),
        envelope('alpha.happened', { count: 2 }, { dataschemaversion: 1 }),
        envelope('alpha.happened', { n: 3 }, { traceparent: TRACE }),
      ];
      for (const e of events) expect((await publishEvent(js, env.nats.subjects, e, registry)).duplicate).toBe(false);
      // The relay republishing after a crash: same id, deduped by the stream.
      expect((await publishEvent(js, env.nats.subjects, events[0]!, registry)).duplicate).toBe(true);

      await eventually(() => expect(seen).toHaveLength(3));
      expect(seen.map((s) => s.data.id)).toEqual(events.map((e) => e.id));
      expect(seen.map((s) => s.data.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]); // v1 upcast on read
      expect(seen[1]!.data.dataschemaversion).toBe(2);
      expect(seen[2]!.traceparent).toBe(TRACE);
      expect(seen.every((s) => s.deliveries === 1)).toBe(true);
      await eventually(async () => expect((await consumerInfo()).num_ack_pending).toBe(0));
      await sleep(300);
      expect(seen).toHaveLength(3);
      const info = await consumerInfo();
      expect(info).toMatchObject({ num_pending: 0, num_redelivered: 0, num_ack_pending: 0 });
    });

    it('acks and skips a registered event type this service has no handler for', async () => {
      const before = (await consumerInfo()).delivered.stream_seq;
      const ack = await publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope('alpha.ignored', { n: 1 }));
      await eventually(async () => {
        const info = await consumerInfo();
        expect(info.ack_floor.stream_seq).toBeGreaterThanOrEqual(ack.seq);
        expect(info.num_ack_pending).toBe(0);
      });
      expect(ack.seq).toBeGreaterThan(before);
      expect(seen).toHaveLength(0);
    });

    it('publishes events through JetStreamClient.emit', async () => {
      const client = new JetStreamClient({ connection: env.nats.nc, subjects: env.nats.subjects, registry });
      const e = envelope('alpha.happened', { n: 7 });
      const ack = await lastValueFrom(client.emit('alpha.happened', e));
      expect(ack).toMatchObject({ duplicate: false, stream: env.nats.subjects.stream('EVENTS') });
      await eventually(() => expect(seen.map((s) => s.data.id)).toEqual([e.id]));
      await expect(lastValueFrom(client.emit('alpha.other', e))).rejects.toThrow(/differs from the envelope type/);
      await client.close();
    });

    it('leaves a message the handler settled itself alone', async () => {
      // The handler naks its first delivery by hand and returns normally: the server must not ack over it.
      onHappened = async (_data, ctx) => {
        if (ctx.getDeliveryCount() === 1) ctx.nak(100);
      };
      const e = envelope('alpha.happened', { n: 8 });
      await publishEvent(jetstream(env.nats.nc), env.nats.subjects, e);
      await eventually(() => expect(seen.map((s) => s.deliveries)).toEqual([1, 2]));
      await eventually(async () => expect((await consumerInfo()).num_ack_pending).toBe(0));
    });

    it('reports a connection failure through the listen callback', async () => {
      const failing = new JetStreamServer({
        natsUrl: 'nats://127.0.0.1:1',
        subjects: env.nats.subjects,
        service: 'nowhere',
        registry,
        logger: memoryLogger(),
        consumers: [],
      });
      const err = await new Promise((resolve) => void failing.listen(resolve));
      expect(err).toBeInstanceOf(Error);
      expect(failing.isReady()).toBe(false);
    });
  });
});
