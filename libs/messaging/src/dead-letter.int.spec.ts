import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { Headers, ValidationError, type EventEnvelope } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { parseDeadLetter, type DeadLetter } from './dead-letter.publisher';
import { encodeJson } from './envelope.codec';
import { publishEvent } from './event.publisher';
import { envelope, memoryLogger, readStream, registryOf, startMicroservice } from './test.fixtures';

const handled: string[] = [];
let rejectCalls = 0;

@Controller()
class PoisonController {
  @EventPattern('poison.ok')
  ok(data: EventEnvelope): void {
    handled.push(data.id);
  }

  @EventPattern('poison.rejected')
  rejected(_event: EventEnvelope): void {
    rejectCalls++;
    throw new ValidationError('amount must be positive', [{ path: 'data.amount', message: 'must be positive' }]);
  }
}

@Module({ controllers: [PoisonController] })
class PoisonModule {}

describe('dead-letter queue', () => {
  const env = useTestEnvironment({ label: 'msgdlq' });

  describe('with a running microservice', () => {
    const registry = registryOf('poison.ok', 'poison.rejected');
    let app: INestMicroservice;

    beforeAll(async () => {
      ({ app } = await startMicroservice(PoisonModule, {
        natsUrl: env.nats.url,
        subjects: env.nats.subjects,
        service: 'poisoned',
        registry,
        logger: memoryLogger(),
        consumers: [{ stream: 'EVENTS', filter: env.nats.subjects.category('poison'), maxDeliver: 3, backoffMs: [50] }],
      }));
    });
    afterAll(() => app?.close());

    const deadLetters = async (): Promise<DeadLetter[]> =>
      (await readStream(env.nats.jsm, env.nats.subjects.stream('DLQ'))).map((m) => parseDeadLetter({ data: m.data, headers: m.header }));

    /** Publishes the poison, then a good event, and returns the poison's dead letter once the good one was handled. */
    async function poisonThenGood(subject: string, body: Uint8Array, headers = natsHeaders()) {
      const js = jetstream(env.nats.nc);
      const poison = await js.publish(subject, body, { headers });
      const good = envelope('poison.ok', { n: 1 });
      await publishEvent(js, env.nats.subjects, good);
      await eventually(() => expect(handled).toContain(good.id));
      const letter = await eventually(async () => {
        const found = (await deadLetters()).find((d) => d.streamSequence === poison.seq);
        if (!found) throw new Error(`no dead letter for seq ${poison.seq}`);
        return found;
      });
      return { poison, letter };
    }

    it('moves a body that is not JSON to the DLQ with its consumer, subject and original headers, and goes on', async () => {
      const h = natsHeaders();
      h.set(Headers.Traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      h.set('X-Origin', 'test');
      const body = new TextEncoder().encode('{"specversion": "1.0", ');
      const subject = env.nats.subjects.event('poison.ok');
      const { poison, letter } = await poisonThenGood(subject, body, h);
      expect(letter).toMatchObject({
        reason: 'invalid_envelope',
        consumer: 'poisoned',
        subject,
        stream: env.nats.subjects.stream('EVENTS'),
        streamSequence: poison.seq,
        deliveries: 1,
        originalHeaders: { [Headers.Traceparent]: h.get(Headers.Traceparent), 'X-Origin': 'test' },
      });
      expect(new TextDecoder().decode(letter.data)).toBe('{"specversion": "1.0", ');
    });

    it('dead-letters an event whose type is not in the registry', async () => {
      const e = envelope('poison.unheard_of', { n: 1 });
      const { letter } = await poisonThenGood(env.nats.subjects.event('poison.unheard_of'), encodeJson(e));
      expect(letter).toMatchObject({ reason: 'unknown_type', consumer: 'poisoned' });
      expect(letter.error).toMatchObject({ message: expect.stringContaining('poison.unheard_of') });
    });

    it('dead-letters a payload that fails its schema, naming the field', async () => {
      const e = envelope('poison.ok', { n: 'one' });
      const h = natsHeaders();
      h.set(Headers.MsgId, e.id);
      const { letter } = await poisonThenGood(env.nats.subjects.event('poison.ok'), encodeJson(e), h);
      expect(letter).toMatchObject({ reason: 'schema_invalid', originalHeaders: { [Headers.MsgId]: e.id } });
      expect(letter.error).toMatchObject({ code: 'validation', issues: [expect.objectContaining({ path: 'data.n' })] });
      expect(handled).not.toContain(e.id);
    });

    it('dead-letters at once, without retries, when the handler throws a ValidationError', async () => {
      rejectCalls = 0;
      const e = envelope('poison.rejected', { n: 1 });
      const { letter } = await poisonThenGood(env.nats.subjects.event('poison.rejected'), encodeJson(e));
      expect(letter).toMatchObject({ reason: 'permanent_error', deliveries: 1 });
      expect(letter.error).toMatchObject({ code: 'validation', message: 'amount must be positive' });
      expect(rejectCalls).toBe(1);
    });

    it('leaves nothing pending on the consumer after the poison', async () => {
      await eventually(async () => {
        const info = await env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), 'poisoned');
        expect(info).toMatchObject({ num_ack_pending: 0, num_pending: 0 });
      });
    });
  });
});
