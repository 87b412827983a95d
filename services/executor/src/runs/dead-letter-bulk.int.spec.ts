import { migrate } from '@steward/event-store';
import { useTestEnvironment, fail, TestWorker, succeed } from '@steward/testing';
import { startExecutor, workflow, type ExecutorHarness } from '../testing/executor.harness';

const BRITTLE = workflow(`
id: brittle
owner: data-team
runbook: docs/runbooks/brittle.md
steps:
  - id: call
    task: { handler: call, queue: brittle }
`);

describe('executor: dead letters in bulk (requeue_dead_letters, discard_dead_letters)', () => {
  const env = useTestEnvironment({ label: 'execdlqbulk', setupDatabase: (url) => migrate(url) });
  let ex: ExecutorHarness;
  let worker: TestWorker;
  const healthy = new Set<string>();

  beforeAll(async () => {
    ex = await startExecutor(env, { random: () => 0 });
    worker = await new TestWorker(env.nats.nc, env.nats.subjects, 'brittle', (job) => (healthy.has(job.runId) ? succeed({ ok: true }) : fail('bad_input', false))).start();
    // Stopped before the environment drops NATS and the database (afterAll hooks run in declaration order).
    env.track({
      end: async () => {
        await worker.stop();
        await ex.close();
      },
    });
  });

  /** Runs that dead-letter at once (a non-retryable error) and end failed. */
  async function deadRuns(prefix: string, n: number): Promise<string[]> {
    const runs = Array.from({ length: n }, (_, i) => `${prefix}-${i}-${Date.now()}`);
    for (const runId of runs) await ex.requestRun(BRITTLE, { runId });
    for (const runId of runs) {
      await ex.waitForStatus(runId, 'failed');
      await ex.waitForEvent(runId, 'step.dead_lettered');
    }
    return runs;
  }

  const actions = async (commandId: string) =>
    (
      await ex.pool.query(
        'SELECT dead_letter_id AS id, outcome, reason, actor FROM executor_dead_letter_actions WHERE command_id = $1 ORDER BY position',
        [commandId],
      )
    ).rows;

  it('requeues dead letters of several runs with one command: they run again; a second bulk requeue is harmless and says why each was skipped', async () => {
    const runs = await deadRuns('bulk', 3);
    const ids = runs.map((r) => `${r}:call`);
    for (const r of runs) healthy.add(r);

    const first = await ex.send('requeue_dead_letters', { ids: [...ids, 'no-such-run:call'], reason: 'upstream fixed' });
    // The outcome is the command's own command.accepted, listing what its ids recorded.
    expect(first).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted', causationid: first.commandId, data: { command: 'requeue_dead_letters' } }] });
    const recorded = (first as { events: Array<{ data: { events: string[] } }> }).events[0]!.data.events;
    expect(recorded.filter((t) => t === 'step.requeued')).toHaveLength(3);
    for (const runId of runs) await ex.waitForStatus(runId, 'succeeded');
    expect(await actions(first.commandId)).toEqual([
      ...ids.map((id) => ({ id, outcome: 'requeued', reason: null, actor: 'ana' })),
      { id: 'no-such-run:call', outcome: 'skipped', reason: expect.stringMatching(/no-such-run/), actor: 'ana' },
    ]);
    // Each id went the single command's way: actor and reason on step.requeued, causation <command>/<n>.
    const requeued = (await ex.events(runs[1]!)).find((e) => e.type === 'step.requeued')!;
    expect(requeued.data).toMatchObject({ actor: 'ana', reason: 'upstream fixed' });
    expect(requeued.metadata).toMatchObject({ causationId: `${first.commandId}/1`, correlationId: first.commandId, actor: 'ana' });
    const { rows } = await ex.pool.query('SELECT status, resolved_by, resolution_reason FROM executor_dead_letters WHERE id = ANY($1) ORDER BY id', [ids]);
    expect(rows).toEqual(ids.map(() => ({ status: 'requeued', resolved_by: 'ana', resolution_reason: 'upstream fixed' })));

    const again = await ex.send('requeue_dead_letters', { ids });
    expect(again).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted', data: { events: [] } }] });
    expect(await actions(again.commandId)).toEqual(ids.map((id) => ({ id, outcome: 'skipped', reason: 'already requeued', actor: 'ana' })));
    for (const runId of runs) {
      const types = await ex.types(runId);
      expect(types.filter((t) => t === 'step.requeued')).toHaveLength(1);
      expect(types.filter((t) => t === 'step.queued')).toHaveLength(2);
    }
    expect(runs.map((r) => worker.effects.get(`${r}:call`))).toEqual([2, 2, 2]);
  });

  it('discards in bulk with actor and reason; a dead letter that is back in play is skipped, not discarded', async () => {
    const [a, b] = await deadRuns('toss', 2);
    const [revived] = await deadRuns('revived', 1);
    healthy.add(revived!);
    expect(await ex.send('requeue_dead_letter', { id: `${revived}:call` })).toMatchObject({ status: 'completed' });
    await ex.waitForStatus(revived!, 'succeeded');

    const ids = [`${a}:call`, `${b}:call`, `${revived}:call`];
    const out = await ex.send('discard_dead_letters', { ids, reason: 'rows are garbage' }, 'bob');
    expect(out).toMatchObject({ status: 'completed', events: [{ type: 'command.accepted', data: { command: 'discard_dead_letters', events: ['step.dead_letter_discarded', 'step.dead_letter_discarded'] } }] });
    expect(await actions(out.commandId)).toEqual([
      { id: ids[0], outcome: 'discarded', reason: null, actor: 'bob' },
      { id: ids[1], outcome: 'discarded', reason: null, actor: 'bob' },
      { id: ids[2], outcome: 'skipped', reason: expect.stringContaining('not dead-lettered'), actor: 'bob' },
    ]);
    const discarded = (await ex.events(a!)).find((e) => e.type === 'step.dead_letter_discarded')!;
    expect(discarded.data).toMatchObject({ actor: 'bob', reason: 'rows are garbage' });
    const { rows } = await ex.pool.query('SELECT id, status, resolved_by, resolution_reason FROM executor_dead_letters WHERE id = ANY($1) ORDER BY id', [ids]);
    expect(rows.find((r) => r.id === ids[0])).toEqual({ id: ids[0], status: 'discarded', resolved_by: 'bob', resolution_reason: 'rows are garbage' });
    expect(rows.find((r) => r.id === ids[2])).toMatchObject({ status: 'requeued' });

    // Discarded ones cannot be requeued in bulk either: skipped with the reason.
    const requeue = await ex.send('requeue_dead_letters', { ids: [ids[0]] });
    expect(await actions(requeue.commandId)).toEqual([{ id: ids[0], outcome: 'skipped', reason: expect.stringContaining('was discarded'), actor: 'ana' }]);
  });

  it('rejects a bad payload with its paths before touching any id', async () => {
    expect(await ex.send('requeue_dead_letters', { ids: [] })).toMatchObject({ status: 'rejected', code: 'validation', issues: [{ path: 'payload.ids' }] });
    expect(await ex.send('discard_dead_letters', { ids: ['r-1:call'] })).toMatchObject({ status: 'rejected', code: 'validation', issues: [{ path: 'payload.reason' }] });
    const bad = await ex.send('requeue_dead_letters', { ids: ['r-1:call', 'no-colon'] });
    expect(bad).toMatchObject({ status: 'rejected', code: 'validation', issues: [{ path: 'payload.ids[1]' }] });
    expect(await actions(bad.commandId)).toEqual([]);
  });
});
