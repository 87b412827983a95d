import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { RunCancelled, RunReopened, RunStarted, uuidv7, type EventData } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { TIMER_CANCELS_DURABLE, TIMER_REQUESTS_DURABLE } from '../app.module';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra, type SchedulerHarness } from '../testing/scheduler.fixture';
import { LEGACY_DURABLE, TriggerConsumers, triggerDurable } from './trigger.consumers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('trigger durables', () => {
  const env = useTestEnvironment({ label: 'schedtrigdur', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock('2026-09-01T08:00:00Z');
  const stream = () => env.nats.subjects.stream('EVENTS');
  let db: Infra;
  let running: SchedulerHarness;

  beforeAll(() => {
    db = infra(env);
    new TestRelay(env, db.store).start();
  });

  /** A run.started of `workflowId`, committed when this returns; its event id. */
  const started = async (workflowId: string) => {
    const runId = uuidv7();
    const id = uuidv7();
    const data: EventData<typeof RunStarted> = { runId, workflowId, startedAt: clock.now().toISOString() };
    await db.append(`run-${runId}`, [{ id, type: RunStarted.type, data, metadata: { correlationId: `corr-${runId}` } }]);
    return id;
  };

  /** Event ids of `workflowId`'s run.started stored after `downstream`'s first apply: exactly those must trigger it. */
  const storedAfterApply = async (workflowId: string, downstream: string) =>
    (
      await db.pool.query<{ event_id: string }>(
        `SELECT event_id FROM events WHERE type = 'run.started' AND data->>'workflowId' = $1
           AND global_position > (SELECT min(global_position) FROM events WHERE type = 'workflow.applied' AND data->>'id' = $2)
         ORDER BY event_id`,
        [workflowId, downstream],
      )
    ).rows.map((r) => r.event_id);

  const triggeredBy = async (workflowId: string) => (await db.eventsOf('schedule.run_requested', { workflowId })).map((r) => r.data.trigger.eventId as string).sort();

  const drained = (durable: string) =>
    eventually(async () => expect(await env.nats.jsm.consumers.info(stream(), durable)).toMatchObject({ num_pending: 0, num_ack_pending: 0 }), 20_000);

  it('triggers on every event stored after the apply of a new type and on none before, while events of that type keep coming', async () => {
    running = await startScheduler(env, clock, { instance: 'a' });
    let flowing = true;
    const producer = (async () => {
      while (flowing) {
        await started('flow-up');
        await sleep(2);
      }
    })();
    await sleep(300);
    await db.send('apply_workflow', { yaml: workflowYaml('flow-down', '{ on: run.started, where: { workflowId: flow-up } }') });
    await sleep(300);
    flowing = false;
    await producer;

    const expected = await storedAfterApply('flow-up', 'flow-down');
    const all = await db.pool.query(`SELECT 1 FROM events WHERE type = 'run.started' AND data->>'workflowId' = 'flow-up'`);
    expect(expected.length).toBeGreaterThan(0);
    expect(all.rowCount).toBeGreaterThan(expected.length); // some were stored before the apply
    await eventually(async () => expect(await triggeredBy('flow-down')).toEqual(expected), 20_000);
    await drained(triggerDurable('run.started'));
    expect(await triggeredBy('flow-down')).toEqual(expected);
    // Created at the stream's end before the apply, not replaying the type's history.
    expect((await env.nats.jsm.consumers.info(stream(), triggerDurable('run.started'))).config.deliver_policy).toBe(DeliverPolicy.New);
  });

  it('binds the applied types at start and takes the events stored while no scheduler ran, also when the durable was deleted meanwhile', async () => {
    await running.close();
    const whileStopped = await started('flow-up');
    running = await startScheduler(env, clock, { instance: 'b' });
    expect(running.app.get(TriggerConsumers).boundTypes()).toEqual(['run.started']);
    await eventually(async () => expect(await triggeredBy('flow-down')).toContain(whileStopped), 20_000);

    await running.close();
    await env.nats.jsm.consumers.delete(stream(), triggerDurable('run.started'));
    const whileDeleted = await started('flow-up');
    running = await startScheduler(env, clock, { instance: 'c' });
    await eventually(async () => expect(await triggeredBy('flow-down')).toContain(whileDeleted), 20_000);
    // Recreated from the stream's beginning: the events before the apply come again and still start nothing.
    expect((await env.nats.jsm.consumers.info(stream(), triggerDurable('run.started'))).config.deliver_policy).toBe(DeliverPolicy.All);
    await drained(triggerDurable('run.started'));
    expect(await triggeredBy('flow-down')).toEqual(await storedAfterApply('flow-up', 'flow-down'));
  });

  it('removes the all-events durable of earlier versions at start, and leaves a differently filtered one of that name alone', async () => {
    await running.close();
    await env.nats.jsm.consumers.add(stream(), { durable_name: LEGACY_DURABLE, ack_policy: AckPolicy.Explicit, filter_subject: env.nats.subjects.events() });
    running = await startScheduler(env, clock, { instance: 'legacy' });
    await expect(env.nats.jsm.consumers.info(stream(), LEGACY_DURABLE)).rejects.toThrow();

    await running.close();
    await env.nats.jsm.consumers.add(stream(), { durable_name: LEGACY_DURABLE, ack_policy: AckPolicy.Explicit, filter_subject: env.nats.subjects.events('run.started') });
    running = await startScheduler(env, clock, { instance: 'legacy-2' });
    expect((await env.nats.jsm.consumers.info(stream(), LEGACY_DURABLE)).config.filter_subject).toBe(env.nats.subjects.events('run.started'));
    await env.nats.jsm.consumers.delete(stream(), LEGACY_DURABLE);
  });

  it('a replica binds a type applied through another one at its next refresh', async () => {
    const other = await startScheduler(env, clock, { instance: 'd', env: { SCHEDULER_TRIGGER_REFRESH_MS: '100' } });
    await db.send('apply_workflow', { yaml: workflowYaml('after-cancel', '{ on: run.cancelled }') });
    for (const replica of [running, other]) {
      await eventually(() => expect(replica.app.get(TriggerConsumers).boundTypes()).toEqual(['run.cancelled', 'run.started']));
    }
    const runId = uuidv7();
    const id = uuidv7();
    const data: EventData<typeof RunCancelled> = { runId, workflowId: 'elsewhere', cancelledAt: clock.now().toISOString() };
    await db.append(`run-${runId}`, [{ id, type: RunCancelled.type, data, metadata: { correlationId: `corr-${runId}` } }]);
    await eventually(async () => expect(await triggeredBy('after-cancel')).toEqual([id]));
    await other.close();
  });

  it('takes the events of a trigger durable no workflow names (an apply that failed after creating it): no backlog builds up', async () => {
    const triggers = running.app.get(TriggerConsumers);
    await triggers.prepare(RunReopened.type);
    await triggers.refresh();
    expect(triggers.boundTypes()).toEqual(['run.cancelled', 'run.reopened', 'run.started']);
    const runId = uuidv7();
    const data: EventData<typeof RunReopened> = { runId, workflowId: 'elsewhere', stepId: 's', at: clock.now().toISOString() };
    await db.append(`run-${runId}`, [{ type: RunReopened.type, data, metadata: { correlationId: `corr-${runId}` } }]);
    await eventually(async () => expect(await env.nats.jsm.consumers.info(stream(), triggerDurable(RunReopened.type))).toMatchObject({ delivered: { stream_seq: expect.any(Number) }, num_pending: 0, num_ack_pending: 0, ack_floor: { consumer_seq: 1 } }), 20_000);
  });

  it('takes only the types it handles or a trigger names: one durable each, a routed type by its category', async () => {
    await db.send('apply_workflow', { yaml: workflowYaml('after-queued', '{ on: step.queued }') });
    await eventually(() => expect(running.app.get(TriggerConsumers).boundTypes()).toContain('step.queued'));
    const { subjects } = env.nats;
    const filters: Record<string, string | undefined> = {};
    for await (const c of env.nats.jsm.consumers.list(stream())) {
      if (c.name.startsWith('scheduler')) filters[c.name] = c.config.filter_subject;
    }
    expect(filters).toEqual({
      [TIMER_REQUESTS_DURABLE]: subjects.event('timer.requested'),
      [TIMER_CANCELS_DURABLE]: subjects.event('timer.cancelled'),
      [triggerDurable('run.started')]: subjects.event('run.started'),
      [triggerDurable('run.cancelled')]: subjects.event('run.cancelled'),
      [triggerDurable('run.reopened')]: subjects.event('run.reopened'),
      // step.queued is published as step.queued.<route>: one filter covers it only with the category.
      [triggerDurable('step.queued')]: subjects.category('step'),
    });
  });
});
