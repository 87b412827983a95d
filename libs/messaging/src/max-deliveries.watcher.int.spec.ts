import { jetstream } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { eventually, useTestEnvironment } from '@steward/testing';
import { parseDeadLetter } from './dead-letter.publisher';
import { publishEvent } from './event.publisher';
import { MaxDeliveriesAdvisoryWatcher, type MaxDeliveriesAdvisory } from './max-deliveries.watcher';
import { declareTopology, provisionConsumer, provisionStreams } from './topology.provision';
import { envelope, memoryLogger, readStream } from './test.fixtures';

describe('max-deliveries advisory watcher', () => {
  const env = useTestEnvironment({ label: 'msgadv' });

  it('reports a message that ran out of deliveries without an outcome and copies it to the DLQ', async () => {
    const { nc, jsm, subjects } = env.nats;
    await provisionStreams(jsm, declareTopology(subjects));
    const stream = subjects.stream('EVENTS');
    await provisionConsumer(jsm, stream, { durable_name: 'crashy', filter_subject: subjects.category('adv'), ack_wait: nanos(1_000), max_deliver: 2 });
    const seen: MaxDeliveriesAdvisory[] = [];
    const watcher = new MaxDeliveriesAdvisoryWatcher(nc, subjects, { logger: memoryLogger(), deadLetter: true, onAdvisory: (a) => void seen.push(a) });
    await watcher.start();

    const js = jetstream(nc);
    const ack = await publishEvent(js, subjects, envelope('adv.happened', { n: 1 }));
    const consumer = await js.consumers.get(stream, 'crashy');
    // A worker that dies mid-handler, twice: the message is delivered and never settled.
    for (let i = 0; i < 2; i++) expect(await consumer.next({ expires: 3_000 })).not.toBeNull();
    // The server notices the exhausted message when a pull asks for more.
    expect(await consumer.next({ expires: 2_000 })).toBeNull();

    await eventually(() => expect(seen).toEqual([expect.objectContaining({ stream, consumer: 'crashy', stream_seq: ack.seq, deliveries: 2 })]), 10_000);
    const letter = await eventually(async () => {
      const [m] = await readStream(jsm, subjects.stream('DLQ'));
      if (!m) throw new Error('not copied yet');
      return parseDeadLetter({ data: m.data, headers: m.header });
    });
    expect(letter).toMatchObject({ reason: 'max_deliver_exhausted', consumer: 'crashy', streamSequence: ack.seq, deliveries: 2 });
    watcher.stop();
  });
});
