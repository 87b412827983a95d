import { AckPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { useTestEnvironment } from '@steward/testing';
import { declareTopology, provisionConsumer, provisionStreams } from './topology.provision';
import { memoryLogger } from './test.fixtures';

describe('stream and consumer provisioning', () => {
  const env = useTestEnvironment({ label: 'msgtopo' });

  it('creates the four streams once and is a no-op the second time', async () => {
    const { jsm, subjects } = env.nats;
    const topology = declareTopology(subjects);
    const first = await provisionStreams(jsm, topology);
    const names = (['EVENTS', 'COMMANDS', 'REPLAY', 'DLQ'] as const).map((k) => subjects.stream(k));
    expect(first).toEqual({ created: names, existing: [], drift: [] });
    const second = await provisionStreams(jsm, topology);
    expect(second).toEqual({ created: [], existing: names, drift: [] });
    const events = await jsm.streams.info(subjects.stream('EVENTS'));
    expect(events.config).toMatchObject({
      subjects: [subjects.events()],
      retention: RetentionPolicy.Limits,
      storage: 'file',
      duplicate_window: nanos(120_000),
    });
    expect((await jsm.streams.info(subjects.stream('COMMANDS'))).config.retention).toBe(RetentionPolicy.Workqueue);
  });

  it('reports a stream created with another config as drift and leaves it unchanged', async () => {
    const { jsm, subjects } = env.nats;
    const topology = declareTopology(subjects);
    const name = topology.DLQ.name;
    await jsm.streams.delete(name);
    await jsm.streams.add({ name, subjects: [subjects.dlq()], max_age: nanos(60_000) });
    const logger = memoryLogger();
    const report = await provisionStreams(jsm, topology, logger);
    expect(report.created).toEqual([]);
    // The server clamps duplicate_window to max_age, so that differs too.
    expect(report.drift).toEqual([
      { stream: name, field: 'max_age', expected: 0, actual: nanos(60_000) },
      { stream: name, field: 'duplicate_window', expected: nanos(120_000), actual: nanos(60_000) },
    ]);
    expect(logger.entries).toContainEqual(expect.objectContaining({ level: 'warn', stream: name, field: 'max_age' }));
    expect((await jsm.streams.info(name)).config.max_age).toBe(nanos(60_000));
  });

  it('reports drift in a retention policy', async () => {
    const { jsm, subjects } = env.nats;
    const topology = declareTopology(subjects);
    const name = topology.REPLAY.name;
    await jsm.streams.delete(name);
    await jsm.streams.add({ ...topology.REPLAY, retention: RetentionPolicy.Interest });
    const report = await provisionStreams(jsm, [topology.REPLAY]);
    expect(report.drift).toEqual([{ stream: name, field: 'retention', expected: 'limits', actual: 'interest' }]);
    expect((await jsm.streams.info(name)).config.retention).toBe(RetentionPolicy.Interest);
  });

  it('creates a durable pull consumer once and reports a changed one without touching it', async () => {
    const { jsm, subjects } = env.nats;
    const stream = subjects.stream('EVENTS');
    const declared = {
      durable_name: 'topo-consumer',
      filter_subject: subjects.category('topo'),
      ack_wait: nanos(10_000),
      max_deliver: 4,
      max_ack_pending: 50,
    };
    expect(await provisionConsumer(jsm, stream, declared)).toEqual({ created: true, drift: [] });
    expect(await provisionConsumer(jsm, stream, declared)).toEqual({ created: false, drift: [] });
    const info = await jsm.consumers.info(stream, 'topo-consumer');
    expect(info.config).toMatchObject({ ack_policy: AckPolicy.Explicit, max_deliver: 4, filter_subject: subjects.category('topo') });

    const changed = await provisionConsumer(jsm, stream, { ...declared, max_deliver: 9 });
    expect(changed.drift).toEqual([{ stream, consumer: 'topo-consumer', field: 'max_deliver', expected: 9, actual: 4 }]);
    expect((await jsm.consumers.info(stream, 'topo-consumer')).config.max_deliver).toBe(4);
  });
});
