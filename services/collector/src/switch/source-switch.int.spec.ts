import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { allEvents, EventRegistry, uuidv7, type EventEnvelope, type StoredEvent } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { commandHeaders, publishEvent, type CommandEnvelope } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';
import { FixtureServer } from '../testing/fixture.server';
import { startCollector, type CollectorHarness } from '../testing/collector.harness';

const env = useTestEnvironment({ label: 'collector-switch', setupDatabase: (url) => migrate(url) });
const registry = new EventRegistry(allEvents);

describe('disabling and enabling sources', () => {
  let fixture: FixtureServer;
  let c: CollectorHarness;

  beforeAll(async () => {
    fixture = env.track(await new FixtureServer().start());
    c = await startCollector(env, { instance: 'c1', env: { COLLECTOR_LIMIT_MAX_WAIT_MS: '0' } });
    env.track({ end: () => c.close() });
  }, 60_000);

  const http = (url: string) => ({ source: { kind: 'http', url, method: 'GET', headers: {}, query: {} } });

  /** What the alerter's outbox or the gateway's CommandBus puts on the work queue; `msgId` other than the command id slips past the stream's dedupe (a redelivery). */
  async function send(name: string, payload: unknown, o: { commandId?: string; actor?: string; correlationId?: string; msgId?: string } = {}): Promise<{ commandId: string; seq: number }> {
    const commandId = o.commandId ?? uuidv7();
    const command: CommandEnvelope = {
      commandId,
      service: 'collector',
      name,
      payload,
      ...(o.actor !== undefined && { actor: o.actor }),
      correlationId: o.correlationId ?? commandId,
      issuedAt: new Date().toISOString(),
    };
    const ack = await jetstream(env.nats.nc).publish(env.nats.subjects.command('collector', name), JSON.stringify(command), { msgID: o.msgId ?? commandId, headers: commandHeaders(command) });
    return { commandId, seq: ack.seq };
  }

  /** The outcome the runner recorded for a command: the source event it caused, or command.accepted / command.rejected. */
  async function outcomeOf(commandId: string): Promise<StoredEvent> {
    return eventually(async () => {
      const { rows } = await c.pool.query<{ stream_id: string }>(`SELECT stream_id FROM events WHERE metadata->>'causationId' = $1 ORDER BY global_position LIMIT 1`, [commandId]);
      if (!rows[0]) throw new Error(`no outcome for ${commandId} yet`);
      const events = await c.store.readStream(rows[0].stream_id);
      return events.find((e) => e.metadata.causationId === commandId)!;
    });
  }

  /** Every message up to `seq` on the command consumer was handled and acked. */
  async function drained(seq: number): Promise<void> {
    const jsm = await jetstreamManager(env.nats.nc);
    await eventually(async () => {
      const info = await jsm.consumers.info(env.nats.subjects.stream('COMMANDS'), 'collector-cmd');
      if (info.delivered.stream_seq < seq || info.num_ack_pending > 0) throw new Error(`command consumer at ${info.delivered.stream_seq}, ${info.num_ack_pending} pending`);
    });
  }

  const sourceEvents = (source: string) => c.store.readStream(`source-${source}`);

  /** Publishes an event as the relay would; returns its id. */
  async function publish(type: string, streamid: string, data: Record<string, unknown>, o: { actor?: string; workflowId?: string; correlationId?: string } = {}): Promise<string> {
    const id = uuidv7();
    const envelope = {
      specversion: '1.0',
      id,
      source: 'test',
      type,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      dataschemaversion: 1,
      streamid,
      streamversion: 3,
      correlationid: o.correlationId ?? id,
      ...(o.actor !== undefined && { actor: o.actor }),
      ...(o.workflowId !== undefined && { workflowid: o.workflowId }),
      data,
    } as EventEnvelope;
    await publishEvent(jetstream(env.nats.nc), env.nats.subjects, envelope, registry);
    return id;
  }

  const resume = (workflowId: string, actor = 'ops-jane') => publish('workflow.resumed', `workflow-${workflowId}`, { id: workflowId, resumedAt: new Date().toISOString() }, { actor, workflowId });

  /** The sources re-enabled by one event, by name. */
  const enabledBy = (causationId: string, count: number) =>
    eventually(async () => {
      const { rows } = await c.pool.query<{ source: string }>(`SELECT data->>'source' AS source FROM events WHERE type = 'collection.source_enabled' AND metadata->>'causationId' = $1 ORDER BY 1`, [causationId]);
      if (rows.length < count) throw new Error(`${rows.length} of ${count} sources re-enabled yet`);
      return rows.map((r) => r.source);
    });

  it("fails a disabled source's step at once, permanent, naming who and why, without a request; enable_source lets it fetch again", async () => {
    const url = fixture.route('/portal.csv', (_req, res) => void res.writeHead(200, { 'content-type': 'text/csv' }).end('sku,price\na,1\n'));
    const alertId = uuidv7();
    const reason = `alert ${alertId} (portal): failure rate 40% over 25%`;
    const { commandId } = await send('disable_source', { source: 'portal.fetch', reason }, { actor: 'alerter', correlationId: alertId });

    const disabled = await outcomeOf(commandId);
    expect(disabled).toMatchObject({
      streamId: 'source-portal.fetch',
      type: 'collection.source_disabled',
      data: { source: 'portal.fetch', workflowId: 'portal', reason, disabledBy: 'alerter', automated: true },
      metadata: { causationId: commandId, correlationId: alertId, actor: 'alerter', workflowId: 'portal' },
    });
    const { rows } = await c.pool.query('SELECT disabled, automated, changed_by, reason FROM collector_sources WHERE source = $1', ['portal.fetch']);
    expect(rows).toEqual([{ disabled: true, automated: true, changed_by: 'alerter', reason }]);

    const q = await c.queue(http(url), { workflowId: 'portal' });
    const { outcome } = await c.result(q.runId);
    expect(outcome).toEqual({ status: 'failed', error: { code: 'source_disabled', message: expect.stringContaining('disabled by alerter'), retryable: false } });
    expect(outcome.error.message).toContain(reason);
    expect(outcome.error.message).toContain('steward workflows resume portal');
    expect(fixture.count('/portal.csv')).toBe(0);
    // Nothing was fetched, so nothing failed: the source's failure rate is not fed by its own disablement.
    expect((await c.streamEvents('collection-')).filter((e) => (e.data as { runId?: string }).runId === q.runId)).toEqual([]);

    const enable = await send('enable_source', { source: 'portal.fetch', reason: 'portal fixed' }, { actor: 'ops-jane' });
    expect(await outcomeOf(enable.commandId)).toMatchObject({
      type: 'collection.source_enabled',
      data: { source: 'portal.fetch', reason: 'portal fixed', enabledBy: 'ops-jane', trigger: 'command' },
      metadata: { causationId: enable.commandId, actor: 'ops-jane' },
    });
    const again = await c.queue(http(url), { workflowId: 'portal' });
    expect((await c.result(again.runId)).outcome).toMatchObject({ status: 'succeeded', outputs: { source: 'portal.fetch', status: 200 } });
    expect(fixture.count('/portal.csv')).toBe(1);
  });

  it('accepts a repeat without a new event, and has no second effect for a redelivered command', async () => {
    const first = await send('disable_source', { source: 'repeat.fetch', reason: 'flaky' }, { actor: 'alerter' });
    expect((await outcomeOf(first.commandId)).type).toBe('collection.source_disabled');

    const repeat = await send('disable_source', { source: 'repeat.fetch', reason: 'still flaky' }, { actor: 'alerter' });
    expect(await outcomeOf(repeat.commandId)).toMatchObject({ type: 'command.accepted', data: { commandId: repeat.commandId, service: 'collector', command: 'disable_source', events: [] } });

    // Enabled, then the first disable arrives again (another message id, so the stream does not drop it): the inbox does.
    const enable = await send('enable_source', { source: 'repeat.fetch' });
    expect((await outcomeOf(enable.commandId)).type).toBe('collection.source_enabled');
    const redelivered = await send('disable_source', { source: 'repeat.fetch', reason: 'flaky' }, { actor: 'alerter', commandId: first.commandId, msgId: uuidv7() });
    await drained(redelivered.seq);
    expect(c.logs.filter((l) => l.command_id === first.commandId).map((l) => l.status)).toEqual(['recorded', 'duplicate']);

    expect((await sourceEvents('repeat.fetch')).map((e) => e.type)).toEqual(['collection.source_disabled', 'collection.source_enabled']);
    expect(await c.store.readStream(`command-${first.commandId}`)).toEqual([]);
    const { rows } = await c.pool.query('SELECT disabled FROM collector_sources WHERE source = $1', ['repeat.fetch']);
    expect(rows).toEqual([{ disabled: false }]);
  });

  it('does not fetch again after a Retry-After wait when the source was disabled meanwhile', async () => {
    let disabling: Promise<{ commandId: string }> | undefined;
    const url = fixture.route('/portal-busy', (_req, res) => {
      res.writeHead(429, { 'retry-after': '2', 'content-type': 'text/plain' }).end('slow down');
      // The alerter's first response lands while the collector waits out the Retry-After.
      disabling ??= send('disable_source', { source: 'portalwait.fetch', reason: 'failing' }, { actor: 'alerter' });
    });
    const q = await c.queue(http(url), { workflowId: 'portalwait' });
    await eventually(async () => {
      if (!disabling) throw new Error('not fetched yet');
    });
    await outcomeOf((await disabling!).commandId);
    const { outcome } = await c.result(q.runId, 1, 15_000);
    expect(outcome).toEqual({ status: 'failed', error: { code: 'source_disabled', message: expect.stringContaining('disabled by alerter'), retryable: false } });
    expect(fixture.count('/portal-busy')).toBe(1);
  }, 20_000);

  it('re-enables, on workflow.resumed, the sources of that workflow an alert disabled, caused by the resume', async () => {
    const url = fixture.route('/w2.json', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const byAlert = [await send('disable_source', { source: 'w2.fetch', reason: 'alert a' }, { actor: 'alerter' }), await send('disable_source', { source: 'w2.other', reason: 'alert b' }, { actor: 'alerter' })];
    const byOperator = await send('disable_source', { source: 'w2.manual', reason: 'vendor contract ended' }, { actor: 'ops-jane' });
    const otherWorkflow = await send('disable_source', { source: 'w3.fetch', reason: 'alert c' }, { actor: 'alerter' });
    for (const s of [...byAlert, byOperator, otherWorkflow]) expect((await outcomeOf(s.commandId)).type).toBe('collection.source_disabled');

    const resumeId = await resume('w2');
    expect(await enabledBy(resumeId, 2)).toEqual(['w2.fetch', 'w2.other']);
    expect((await sourceEvents('w2.fetch')).at(-1)).toMatchObject({
      type: 'collection.source_enabled',
      data: { source: 'w2.fetch', workflowId: 'w2', trigger: 'workflow_resumed', enabledBy: 'ops-jane', reason: 'workflow w2 resumed' },
      metadata: { causationId: resumeId, workflowId: 'w2', actor: 'ops-jane' },
    });
    const { rows } = await c.pool.query<{ source: string; disabled: boolean }>(`SELECT source, disabled FROM collector_sources WHERE source IN ('w2.fetch', 'w2.other', 'w2.manual', 'w3.fetch') ORDER BY source`);
    expect(rows).toEqual([
      { source: 'w2.fetch', disabled: false },
      { source: 'w2.manual', disabled: true },
      { source: 'w2.other', disabled: false },
      { source: 'w3.fetch', disabled: true },
    ]);

    const q = await c.queue(http(url), { workflowId: 'w2' });
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'succeeded', outputs: { source: 'w2.fetch' } });
    expect(fixture.count('/w2.json')).toBe(1);
  });

  it("re-enables them on the operator's resume request too, when the workflow was not paused (so the scheduler records no workflow.resumed)", async () => {
    const disable = await send('disable_source', { source: 'w4.fetch', reason: 'alert d' }, { actor: 'alerter' });
    expect((await outcomeOf(disable.commandId)).type).toBe('collection.source_disabled');
    // Other operator actions, and a resume of another workflow, leave it alone.
    const other = await publish('operator.action_recorded', `operator-action-${uuidv7()}`, { action: 'runs.cancel', service: 'executor', command: 'cancel_run', commandId: uuidv7(), target: { workflow: 'w4', run: 'r1' } }, { actor: 'ops-jane' });
    const elsewhere = await publish('operator.action_recorded', `operator-action-${uuidv7()}`, { action: 'workflows.resume', service: 'scheduler', command: 'resume_workflow', commandId: uuidv7(), target: { workflow: 'w5' } }, { actor: 'ops-jane' });
    const resumeCommand = uuidv7();
    const request = await publish(
      'operator.action_recorded',
      `operator-action-${resumeCommand}`,
      { action: 'workflows.resume', service: 'scheduler', command: 'resume_workflow', commandId: resumeCommand, target: { workflow: 'w4' }, reason: 'portal back' },
      { actor: 'ops-jane', correlationId: resumeCommand, workflowId: 'w4' },
    );
    expect(await enabledBy(request, 1)).toEqual(['w4.fetch']);
    expect((await sourceEvents('w4.fetch')).map((e) => ({ type: e.type, causationId: e.metadata.causationId }))).toEqual([
      { type: 'collection.source_disabled', causationId: disable.commandId },
      { type: 'collection.source_enabled', causationId: request },
    ]);
    expect((await sourceEvents('w4.fetch')).at(-1)!.metadata).toMatchObject({ correlationId: resumeCommand, actor: 'ops-jane' });
    const { rows } = await c.pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE metadata->>'causationId' = ANY($1)`, [[other, elsewhere]]);
    expect(rows[0]!.n).toBe('0');

    // The scheduler's workflow.resumed, had it been paused too, then finds nothing left to do.
    const resumed = await resume('w4');
    await eventually(async () => {
      const { rows: inbox } = await c.pool.query('SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2', ['collector-workflows', resumed]);
      if (inbox.length === 0) throw new Error('workflow.resumed not handled yet');
    });
    expect(await sourceEvents('w4.fetch')).toHaveLength(2);
  });

  it('rejects a malformed payload, naming the fields at fault, and changes nothing', async () => {
    const bad = await send('disable_source', { source: 'Not A Source!', reason: '   ', extra: true }, { actor: 'alerter' });
    const rejected = await outcomeOf(bad.commandId);
    expect(rejected).toMatchObject({ type: 'command.rejected', data: { command: 'disable_source', code: 'validation' } });
    const data = rejected.data as { reason: string; issues: Array<{ path: string }> };
    expect(data.issues.map((i) => i.path).sort()).toEqual(['payload.extra', 'payload.reason', 'payload.source']);
    expect(data.reason).toContain('payload.source: expected a source name');

    const missing = await send('enable_source', { reason: 'why not' });
    expect(await outcomeOf(missing.commandId)).toMatchObject({ type: 'command.rejected', data: { issues: [expect.objectContaining({ path: 'payload.source' })] } });
    const long = await send('disable_source', { source: `w.${'a'.repeat(195)}` });
    expect(((await outcomeOf(long.commandId)).data as { reason: string }).reason).toContain('payload.source: at most 193 characters');
    const { rows } = await c.pool.query(`SELECT source FROM collector_sources WHERE source NOT LIKE 'portal%' AND source NOT LIKE 'repeat%' AND source NOT LIKE 'w_.%'`);
    expect(rows).toEqual([]);
  });
});
