import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@steward/event-store';
import { PresenceDirectory } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';
import { startCollector, type CollectorHarness } from '../testing/collector.harness';

const env = useTestEnvironment({ label: 'collector-sources', setupDatabase: (url) => migrate(url) });

describe('file and custom handler sources', () => {
  const root = mkdtempSync(join(tmpdir(), 'collector-files-'));
  const outside = mkdtempSync(join(tmpdir(), 'collector-outside-'));
  const handlers = mkdtempSync(join(tmpdir(), 'collector-handlers-'));
  let c: CollectorHarness;

  beforeAll(async () => {
    mkdirSync(join(root, 'drops', '2026'), { recursive: true });
    writeFileSync(join(root, 'drops', 'prices.csv'), 'sku,price\na,1\n');
    writeFileSync(join(root, 'drops', '2026', 'a.json'), '{"a":1}');
    writeFileSync(join(root, 'drops', '2026', 'b.json'), '{"b":2}');
    writeFileSync(join(outside, 'secret.txt'), 'not yours');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'drops', 'link.txt'));
    writeFileSync(
      join(handlers, 'portal.js'),
      `module.exports = { name: 'portal-scrape', run: async (input) => ({ body: 'day,' + input.inputs.day, contentType: 'text/csv' }) };
       module.exports.broken = { name: 'portal-broken', run: async () => ({ nobody: true }) };
       module.exports.authed = { name: 'portal-authed', run: async (input, ctx) => { ctx.logger.info('using ' + ctx.env.PORTAL_TOKEN); return { body: 'token length ' + ctx.env.PORTAL_TOKEN.length, contentType: 'text/plain' }; } };`,
    );
    writeFileSync(join(handlers, '..', `${handlers.split('/').pop()}-profiles.json`), JSON.stringify({ prices: { env: { PORTAL_TOKEN: { secretRef: 'portal' } } } }));
    c = await startCollector(env, {
      instance: 'files',
      secretSource: { STEWARD_SECRET_PORTAL: 'portal-s3cret-value' },
      env: { COLLECTOR_FILE_ROOTS: root, COLLECTOR_HANDLERS: handlers, COLLECTOR_PROFILES: join(handlers, '..', `${handlers.split('/').pop()}-profiles.json`) },
    });
    env.track({ end: () => c.close() });
  }, 60_000);

  it('announces the file source and each custom handler in the presence directory', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    const entry = await eventually(async () => {
      const found = (await directory.list()).find((e) => e.service === 'collector' && e.instance === 'files');
      if (!found) throw new Error('collector not announced yet');
      return found;
    });
    expect(entry.capabilities).toEqual(['step.queued.collector', 'workflow.resumed', 'operator.action_recorded', 'cmd:disable_source', 'cmd:enable_source', 'source:http', 'source:file', 'source:handler', 'handler:portal-authed', 'handler:portal-broken', 'handler:portal-scrape']);
  });

  it('captures a file inside the roots', async () => {
    const q = await c.queue({ source: { kind: 'file', path: 'drops/prices.csv' } });
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'succeeded', outputs: { contentType: 'text/csv', size: 14 } });
  });

  it('captures each file a glob matches as its own capture', async () => {
    const q = await c.queue({ source: { kind: 'file', glob: 'drops/**/*.json' } });
    const { outcome } = await c.result(q.runId);
    expect(outcome).toMatchObject({ status: 'succeeded', outputs: { count: 2, contentType: 'application/json' } });
    expect(outcome.outputs.captures.map((x: { target: string }) => x.target.split('/').pop())).toEqual(['a.json', 'b.json']);
  });

  it('holds all files of a glob to one body budget, not one each', async () => {
    // a.json and b.json are 7 bytes each: each fits 10 bytes, both together do not.
    const q = await c.queue({ source: { kind: 'file', glob: 'drops/**/*.json' }, maxBodyBytes: 10 });
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'body_too_large', retryable: false, message: expect.stringContaining('together') } });
  });

  it('refuses paths outside the roots, also through a symlink or ..', async () => {
    for (const path of [join(outside, 'secret.txt'), 'drops/link.txt', '../' + outside.split('/').pop() + '/secret.txt', '../not-there-yet.csv']) {
      const q = await c.queue({ source: { kind: 'file', path } });
      expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'path_outside_roots', retryable: false } });
    }
  });

  it('runs a custom collector handler isolated and keeps what it returns', async () => {
    const q = await c.queue({ source: { kind: 'handler', handler: 'portal-scrape' } }, { inputs: { day: '2026-12-01' } });
    const { outcome } = await c.result(q.runId, 1, 20_000);
    expect(outcome).toMatchObject({ status: 'succeeded', outputs: { contentType: 'text/csv', size: 14 } });
    const [capture] = await c.streamEvents(`capture-${outcome.outputs.fingerprint}`);
    expect(capture!.data).toMatchObject({ request: { kind: 'custom', target: 'portal-scrape' }, body: { storage: 'inline', data: 'day,2026-12-01' } });
  }, 30_000);

  it("gives a handler its workflow's profile with secrets resolved, and scrubs them from its logs", async () => {
    const q = await c.queue({ source: { kind: 'handler', handler: 'portal-authed' } });
    expect((await c.result(q.runId, 1, 20_000)).outcome).toMatchObject({ status: 'succeeded', outputs: { size: 'token length 19'.length } });
    const line = await eventually(async () => {
      const found = c.logs.find((l) => l.source === 'handler' && l.run_id === q.runId);
      if (!found) throw new Error('no handler log yet');
      return found;
    });
    expect(line.msg).toBe('using [REDACTED]');
    const other = await c.queue({ source: { kind: 'handler', handler: 'portal-authed' } }, { workflowId: 'other' });
    expect((await c.result(other.runId, 1, 20_000)).outcome).toMatchObject({ status: 'failed' });
  }, 30_000);

  it('fails permanently on an unknown handler or one returning no body', async () => {
    const unknown = await c.queue({ source: { kind: 'handler', handler: 'nope' } });
    expect((await c.result(unknown.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'unknown_handler', retryable: false } });
    const broken = await c.queue({ source: { kind: 'handler', handler: 'portal-broken' } });
    expect((await c.result(broken.runId, 1, 20_000)).outcome).toMatchObject({ status: 'failed', error: { code: 'invalid_handler_output', retryable: false } });
  }, 30_000);

  it('keys a scheduled run by its occurrence time, so two runs of one occurrence capture once', async () => {
    const at = '2026-12-01T09:00:00Z';
    for (const runId of ['occ-run-1', 'occ-run-2']) {
      await c.store.append(`run-${runId}`, [
        {
          type: 'run.requested',
          data: { runId, workflowId: 'prices', version: 1, hash: 'h', trigger: { kind: 'schedule' }, occurrence: { id: `prices@${at}`, at }, input: {}, definition: {}, requestedAt: at },
        },
      ], { expected: 'no_stream' });
    }
    await c.queue({ source: { kind: 'file', path: 'drops/prices.csv' } }, { runId: 'occ-run-1' });
    const a = await c.result('occ-run-1');
    await c.queue({ source: { kind: 'file', path: 'drops/prices.csv' } }, { runId: 'occ-run-2' });
    const b = await c.result('occ-run-2');
    expect(b.outcome.outputs.captureId).toBe(a.outcome.outputs.captureId);
    const [capture] = await c.streamEvents(`capture-${a.outcome.outputs.fingerprint}`);
    expect(capture!.data).toMatchObject({ scheduledAt: at });
  });
});
