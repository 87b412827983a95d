import { jetstream } from '@nats-io/jetstream';
import { uuidv7 } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { PresenceDirectory } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';
import { ManualClock } from '../clock';
import { infra, startScheduler, TestRelay, workflowYaml, type Infra } from '../testing/scheduler.fixture';

describe('workflow commands', () => {
  const env = useTestEnvironment({ label: 'schedwf', setupDatabase: (url) => migrate(url) });
  const clock = new ManualClock('2026-05-04T10:00:00Z');
  let db: Infra;

  beforeAll(async () => {
    db = infra(env);
    await startScheduler(env, clock);
    new TestRelay(env, db.store).start();
  });

  const row = async (id: string) => (await db.pool.query(`SELECT * FROM scheduler_workflows WHERE id = $1`, [id])).rows[0];

  it('applies a valid workflow as version 1 and projects it with its schedule', async () => {
    const outcome = await db.send('apply_workflow', { yaml: workflowYaml('prices', '{ every: 5m }'), file: 'prices.yaml' });
    expect(outcome).toMatchObject({ status: 'completed' });
    if (outcome.status !== 'completed') return;
    expect(outcome.events[0]).toMatchObject({ type: 'workflow.applied', streamid: 'workflow-prices', actor: 'alice' });
    expect(outcome.events[0]!.data).toMatchObject({ id: 'prices', version: 1, owner: 'pricing-team', file: 'prices.yaml', appliedAt: '2026-05-04T10:00:00.000Z' });
    expect(await row('prices')).toMatchObject({ version: 1, owner: 'pricing-team', paused: false });
    const { rows } = await db.pool.query(`SELECT last_fired_at, next_due_at FROM scheduler_schedules WHERE workflow_id = 'prices'`);
    expect(rows[0]).toEqual({ last_fired_at: new Date('2026-05-04T10:00:00Z'), next_due_at: new Date('2026-05-04T10:05:00Z') });
  });

  it('rejects an invalid file with every problem and its exact path, and changes nothing', async () => {
    const before = await db.eventsOf('workflow.applied');
    const yaml = `id: prices
owner: pricing-team
runbook: docs/runbooks/prices.md
schedule: { cron: "*/15 * * * *", timezone: Mars/Olympus }
retry: { maxAttempts: three }
steps:
  - id: fetch
    needs: [chek]
    task: { handler: noop }
`;
    const outcome = await db.send('apply_workflow', { yaml, file: 'prices.yaml' });
    expect(outcome).toMatchObject({ status: 'rejected', code: 'validation' });
    if (outcome.status !== 'rejected') return;
    expect(outcome.issues.map((i) => i.path)).toEqual(['schedule.timezone', 'retry.maxAttempts', 'steps[0].needs[0]']);
    expect(outcome.event).toMatchObject({ type: 'command.rejected', causationid: outcome.commandId });
    expect(await db.eventsOf('workflow.applied')).toHaveLength(before.length);
    expect(await row('prices')).toMatchObject({ version: 1 });
  });

  it('rejects a command whose payload is malformed, naming the payload field', async () => {
    const outcome = await db.send('apply_workflow', { file: 'x.yaml' });
    expect(outcome).toMatchObject({ status: 'rejected', code: 'validation', issues: [{ path: 'payload.yaml' }] });
  });

  it('accepts an unchanged file (formatting and comments aside) without a new version', async () => {
    const yaml = `# the same workflow, formatted differently\n${workflowYaml('prices', '{ every: 5m, catchup: latest }')}`;
    const outcome = await db.send('apply_workflow', { yaml });
    expect(outcome).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted' }] });
    expect(await db.eventsOf('workflow.applied', { workflowId: 'prices' })).toHaveLength(1);
  });

  it('makes a changed file version 2 and records both versions', async () => {
    clock.advance(60_000);
    const outcome = await db.send('apply_workflow', { yaml: workflowYaml('prices', '{ every: 10m }') });
    expect(outcome).toMatchObject({ status: 'completed', events: [{ type: 'workflow.applied', data: { version: 2 } }] });
    expect(await row('prices')).toMatchObject({ version: 2, stream_version: 2 });
    const { rows } = await db.pool.query(`SELECT version FROM scheduler_workflow_versions WHERE workflow_id = 'prices' ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    // The cursor stayed where it was; the next occurrence follows the new schedule.
    const { rows: s } = await db.pool.query(`SELECT next_due_at FROM scheduler_schedules WHERE workflow_id = 'prices'`);
    expect(s[0].next_due_at).toEqual(new Date('2026-05-04T10:10:00Z'));
  });

  it('pauses with actor and reason, then resumes; repeating either is harmless', async () => {
    const paused = await db.send('pause_workflow', { workflowId: 'prices', reason: 'supplier outage' }, 'bob');
    expect(paused).toMatchObject({ status: 'completed', events: [{ type: 'workflow.paused', actor: 'bob', data: { id: 'prices', reason: 'supplier outage' } }] });
    expect(await row('prices')).toMatchObject({ paused: true });
    expect(await db.send('pause_workflow', { id: 'prices' })).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted' }] });
    const resumed = await db.send('resume_workflow', { id: 'prices' }, 'bob');
    expect(resumed).toMatchObject({ status: 'completed', events: [{ type: 'workflow.resumed', actor: 'bob' }] });
    expect(await row('prices')).toMatchObject({ paused: false });
  });

  it('rejects pausing an unknown workflow as not found', async () => {
    expect(await db.send('pause_workflow', { id: 'nope' })).toMatchObject({ status: 'rejected', code: 'not_found' });
  });

  describe('start_run', () => {
    it('requests a manual run of the current version with a fresh run id, actor and input', async () => {
      await db.send('apply_workflow', { yaml: workflowYaml('report', '', 'inputs:\n  region: { type: string, enum: [eu, us] }\n') });
      const outcome = await db.send('start_run', { workflow: 'report', input: { region: 'eu' } }, 'carol');
      expect(outcome).toMatchObject({ status: 'completed' });
      if (outcome.status !== 'completed') return;
      const e = outcome.events[0]!;
      const data = e.data as { runId: string };
      expect(e).toMatchObject({ type: 'schedule.run_requested', streamid: `manual-${data.runId}`, runid: data.runId, workflowid: 'report' });
      expect(data).toMatchObject({ workflowId: 'report', version: 1, trigger: { kind: 'manual', actor: 'carol' }, input: { region: 'eu' } });
      expect(data.runId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('starts the runs of a burst in shared transactions, each once with its own outcome', async () => {
      await db.send('apply_workflow', { yaml: workflowYaml('burst', '') });
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => db.send('start_run', { workflow: 'burst' })));
      expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'completed'));
      const requested = await db.eventsOf('schedule.run_requested', { workflowId: 'burst' });
      expect(new Set(requested.map((e) => (e.data as { runId: string }).runId)).size).toBe(8);
      const { rows } = await db.pool.query<{ transactions: number }>(
        `SELECT count(DISTINCT transaction_id::text)::int AS transactions FROM events WHERE type = 'schedule.run_requested' AND workflow_id = 'burst'`,
      );
      expect(rows[0]!.transactions).toBeLessThan(8);
    });

    it('records a start_run refused in a burst (no savepoint per command in a batch) once the batch is retried a command at a time; it undoes nothing else', async () => {
      await db.send('apply_workflow', { yaml: workflowYaml('burst-refused', '') });
      const [ghost, ...outcomes] = await Promise.all([db.send('start_run', { workflow: 'ghost' }), ...Array.from({ length: 8 }, () => db.send('start_run', { workflow: 'burst-refused' }))]);
      expect(ghost).toMatchObject({ status: 'rejected', code: 'not_found' });
      expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'completed'));
      const requested = await db.eventsOf('schedule.run_requested', { workflowId: 'burst-refused' });
      expect(new Set(requested.map((e) => (e.data as { runId: string }).runId)).size).toBe(8);
      expect(requested).toHaveLength(8);
    });

    it('rejects an unknown workflow (not_found), bad input (validation, with the path) and a paused workflow (illegal_state)', async () => {
      expect(await db.send('start_run', { workflow: 'ghost' })).toMatchObject({ status: 'rejected', code: 'not_found' });
      expect(await db.send('start_run', { workflow: 'report', input: { region: 'mars' } })).toMatchObject({
        status: 'rejected',
        code: 'validation',
        issues: [{ path: 'input.region' }],
      });
      await db.send('pause_workflow', { id: 'report' });
      expect(await db.send('start_run', { workflow: 'report', input: { region: 'eu' } })).toMatchObject({ status: 'rejected', code: 'illegal_state' });
    });
  });

  it('handles a command delivered twice once (inbox)', async () => {
    const command = { commandId: uuidv7(), service: 'scheduler', name: 'start_run', payload: { workflow: 'prices' }, actor: 'alice', correlationId: uuidv7(), issuedAt: new Date().toISOString() };
    const js = jetstream(env.nats.nc);
    const subject = env.nats.subjects.command('scheduler', 'start_run');
    // Two message ids, so JetStream's publish dedupe does not hide the second copy: only the inbox can.
    for (const msgID of ['copy-1', 'copy-2']) await js.publish(subject, JSON.stringify(command), { msgID });
    const consumer = () => env.nats.jsm.consumers.info(env.nats.subjects.stream('COMMANDS'), 'scheduler-cmd');
    await eventually(async () => expect(await consumer()).toMatchObject({ num_pending: 0, num_ack_pending: 0 }));
    const { rows } = await db.pool.query(`SELECT type FROM events WHERE causation_id = $1`, [command.commandId]);
    expect(rows).toEqual([{ type: 'schedule.run_requested' }]);
  });

  it('announces the commands it takes in the presence directory', async () => {
    const entries = await new PresenceDirectory(env.nats.nc, env.nats.subjects).list();
    expect(entries.find((e) => e.service === 'scheduler')?.capabilities).toEqual(
      expect.arrayContaining(['cmd:apply_workflow', 'cmd:pause_workflow', 'cmd:resume_workflow', 'cmd:start_run']),
    );
  });
});
