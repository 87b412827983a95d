import { Headers, Subjects, uuidv7 } from '@steward/contracts';
import { declareTopology, provisionStreams } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { useTestEnvironment } from '@steward/testing';
import { RelayPublisher } from './relay.publisher';

const logger = new Logger({ service: 'ledger-test', level: 'error' });

const envelope = (id: string) => JSON.stringify({ specversion: '1.0', id, type: 'run.started', source: 'test', data: {} });

describe('relay publisher', () => {
  const env = useTestEnvironment({ label: 'relaypub' });

  beforeAll(async () => {
    await provisionStreams(env.nats.jsm, declareTopology(env.nats.subjects), logger);
  });

  it('stores a batch in order with the event id as Nats-Msg-Id and its headers, and reports a republished event as a duplicate', async () => {
    const publisher = new RelayPublisher(env.nats.nc, env.nats.subjects);
    const ids = Array.from({ length: 50 }, () => uuidv7());
    const acks = await publisher.publishAll(ids.map((id, i) => ({ id, type: 'run.started', envelope: envelope(id), ...(i === 0 && { causationId: 'cause-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }) })));
    expect(acks.map((a) => a.duplicate)).toEqual(ids.map(() => false));
    expect(acks.map((a) => a.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));
    const first = await env.nats.jsm.streams.getMessage(env.nats.subjects.stream('EVENTS'), { seq: acks[0]!.seq });
    expect(first!.subject).toBe(env.nats.subjects.event('run.started'));
    expect([first!.header.get(Headers.MsgId), first!.header.get(Headers.CausationId), first!.header.get(Headers.Traceparent)]).toEqual([ids[0], 'cause-1', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);

    const again = await publisher.publishAll([{ id: ids[7]!, type: 'run.started', envelope: envelope(ids[7]!), route: undefined }]);
    expect(again).toEqual([{ seq: acks[7]!.seq, duplicate: true }]);
    publisher.close();
  });

  it('fails the batch when no stream takes the subject, and publishes again after that', async () => {
    const elsewhere = new RelayPublisher(env.nats.nc, new Subjects(`${env.nats.namespace}x`), 2_000);
    await expect(elsewhere.publishAll([{ id: uuidv7(), type: 'run.started', envelope: envelope('x') }])).rejects.toThrow(/no stream takes|no JetStream ack/);
    elsewhere.close();
    const publisher = new RelayPublisher(env.nats.nc, env.nats.subjects);
    const id = uuidv7();
    expect(await publisher.publishAll([{ id, type: 'run.started', envelope: envelope(id) }])).toEqual([{ seq: expect.any(Number), duplicate: false }]);
    publisher.close();
  });
});
