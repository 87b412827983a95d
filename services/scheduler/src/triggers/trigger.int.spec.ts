import { RunSucceeded, uuidv7, type EventData } from '@steward/contracts';
import { jetstream } from '@nats-io/jetstream';
import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra } from '../testing/scheduler.fixture';
import { triggerDurable } from './trigger.consumers';

describe('event-triggered schedules', () => {
  const env = useTestEnvironment({ label: 'schedtrigger', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock('2026-09-01T08:00:00Z');
  let db: Infra;

  beforeAll(async () => {
    db = infra(env);
    new TestRelay(env, db.store).start();
    await startScheduler(env, clock);
  });

  const succeeded = async (workflowId: string) => {
    const runId = uuidv7();
    const data: EventData<typeof RunSucceeded> = { runId, workflowId, succeededAt: clock.now().toISOString(), durationMs: 10 };
    const id = uuidv7();
    await db.append(`run-${runId}`, [{ id, type: RunSucceeded.type, data, metadata: { correlationId: `corr-${runId}` } }]);
    return id;
  };

  it('requests one run per matching event, with the event as trigger, and none for events that do not match', async () => {
    const early = await succeeded('upstream'); // stored before the trigger exists: starts nothing
    await db.send('apply_workflow', { yaml: workflowYaml('downstream', '{ on: run.succeeded, where: { workflowId: upstream } }') });
    const other = await succeeded('unrelated');
    const match = await succeeded('upstream');

    await eventually(async () => expect(await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' })).toHaveLength(1));
    const [run] = await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' });
    expect(run!.streamId).toBe(`trigger-${match}-downstream`);
    expect(run!.data).toMatchObject({ trigger: { kind: 'event', eventId: match, eventType: 'run.succeeded' }, input: { event: { id: match, type: 'run.succeeded' } } });
    expect(run!.metadata).toMatchObject({ causationId: match, correlationId: expect.stringMatching(/^corr-/) });

    // Let every event reach the consumer, then check nothing else fired.
    const consumer = () => env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), triggerDurable(RunSucceeded.type));
    await eventually(async () => expect(await consumer()).toMatchObject({ num_pending: 0, num_ack_pending: 0 }));
    const runs = await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' });
    expect(runs.map((r) => r.data.trigger.eventId)).toEqual([match]);
    expect([early, other]).not.toContain(match);
  });

  it('validates the payload of an event a trigger names: an invalid one starts nothing and is dead-lettered', async () => {
    await db.send('resume_workflow', { id: 'downstream' });
    const before = await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' });
    const { subjects } = env.nats;
    const id = uuidv7();
    // Stored events are valid; a publisher that skipped the store is not held to it by the transport.
    const envelope = {
      specversion: '1.0',
      id,
      source: 'test',
      type: RunSucceeded.type,
      time: clock.now().toISOString(),
      datacontenttype: 'application/json',
      dataschemaversion: 1,
      correlationid: id,
      globalposition: '999999',
      data: { runId: 'r-invalid', workflowId: 'upstream', succeededAt: 'not a time', durationMs: 'slow' },
    };
    await jetstream(env.nats.nc).publish(subjects.event(RunSucceeded.type), JSON.stringify(envelope), { msgID: id });
    const dead = await eventually(async () => {
      const m = await env.nats.jsm.streams.getMessage(subjects.stream('DLQ'), { last_by_subj: subjects.dlq(triggerDurable(RunSucceeded.type)) });
      if (!m) throw new Error('nothing dead-lettered yet');
      return m;
    });
    expect(new TextDecoder().decode(dead.data)).toContain(id);
    expect(await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' })).toHaveLength(before.length);
    await db.send('pause_workflow', { id: 'downstream' });
  });

  it('starts nothing while the workflow is paused', async () => {
    await db.send('pause_workflow', { id: 'downstream' });
    await succeeded('upstream');
    const consumer = () => env.nats.jsm.consumers.info(env.nats.subjects.stream('EVENTS'), triggerDurable(RunSucceeded.type));
    await eventually(async () => expect(await consumer()).toMatchObject({ num_pending: 0, num_ack_pending: 0 }));
    expect(await db.eventsOf('schedule.run_requested', { workflowId: 'downstream' })).toHaveLength(1);
  });
});
