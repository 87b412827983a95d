import type { Pool, PoolClient } from 'pg';
import { uuidv7, type EventMetadata } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { startGateway, untilCommittedReadable, type GatewayHarness } from '../testing/gateway.fixture';
import type { TimelineEntry } from './timeline-entry.mapper';
import { TimelineStreams } from './timeline-stream.service';

// The wire shape, with data loosened for assertions.
type Entry = Omit<TimelineEntry, 'data'> & { data: any };

describe('timeline', () => {
  const env = useTestEnvironment({ label: 'gwtimeline', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;
  let store: EventStore;
  const ids: Record<string, string> = {};

  /** Appends one event the way the owning service would: its own source, stream and metadata. */
  async function record(name: string, service: string, stream: string, type: string, data: object, metadata: EventMetadata = {}, tx?: PoolClient) {
    const id = uuidv7();
    ids[name] = id;
    await store.append(stream, [{ id, type, data, metadata: { source: service, ...metadata } }], { expected: 'any', tx });
    return id;
  }

  async function timeline(query: Record<string, string>): Promise<{ items: Entry[]; next?: string }> {
    const res = await gw.request('GET', '/api/v1/timeline', { query });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function all(query: Record<string, string>, limit = '1000'): Promise<Entry[]> {
    const out: Entry[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await timeline({ ...query, limit, ...(cursor && { cursor }) });
      out.push(...page.items);
      if (!page.next) return out;
      cursor = page.next;
    }
    throw new Error('too many pages');
  }

  const types = (items: Entry[]) => items.map((e) => e.type);

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 8 }));
    store = new EventStore(pool);
    gw = await startGateway(env, { TIMELINE_STREAM_POLL_MS: '50', TIMELINE_STREAM_KEEPALIVE_MS: '200' });

    // A workflow run that fails, is alerted on, acknowledged, retried and recovers, across five services.
    const run = { runId: 'run-1', workflowId: 'supplier-prices', correlationId: 'corr-1' };
    const started = await record('started', 'scheduler', 'run-run-1', 'run.started', { trigger: 'schedule' }, { ...run, actor: 'schedule' });
    const step = await record('step', 'executor', 'run-run-1', 'step.started', { step: 'fetch', attempt: 1 }, { ...run, causationId: started });
    await record('failed', 'collector', 'capture-9', 'collection.fetch_failed', { step: 'fetch', error: 'HTTP 503', apiKey: 'k-live-1' }, { ...run, causationId: step });
    await record('stepFailed', 'executor', 'run-run-1', 'step.failed', { step: 'fetch', error: 'HTTP 503', attempt: 1 }, { ...run, causationId: step });
    await record('firing', 'alerter', 'alert-A1', 'alert.firing', { rule: 'fetch-failures', runbook: 'docs/runbooks/supplier-prices.md' }, { ...run, causationId: ids.stepFailed });
    await record('ack', 'alerter', 'alert-A1', 'alert.acknowledged', { by: 'alice' }, { correlationId: 'A1', actor: 'alice' });
    await record('requeue', 'executor', 'dlq-7', 'dead_letter.requeued', { reason: 'portal back' }, { ...run, actor: 'alice' });
    await record('ok', 'executor', 'run-run-1', 'step.succeeded', { step: 'fetch', attempt: 2 }, { ...run });
    await record('resolved', 'alerter', 'alert-A1', 'alert.resolved', {}, { correlationId: 'A1', actor: 'alice' });
    // Noise: another run of the same workflow and an unrelated workflow.
    await record('other', 'scheduler', 'run-run-2', 'run.started', {}, { runId: 'run-2', workflowId: 'supplier-prices', correlationId: 'corr-2' });
    await record('unrelated', 'scheduler', 'run-run-3', 'run.started', {}, { runId: 'run-3', workflowId: 'fx-rates', correlationId: 'corr-3' });
    // An event of the workflow two hours old, written the way a backfill would.
    await pool.query(
      `INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, occurred_at)
       VALUES ('run-run-0', 1, $1, 'run.started', '{}', $2, now() - interval '2 hours')`,
      [uuidv7(), { source: 'scheduler', runId: 'run-0', workflowId: 'supplier-prices', correlationId: 'corr-0' }],
    );
    await untilCommittedReadable(pool);
  });

  it('lists a run across services in commit order with every field of an entry', async () => {
    const items = (await timeline({ run: 'run-1' })).items;
    expect(types(items)).toEqual(['run.started', 'step.started', 'collection.fetch_failed', 'step.failed', 'alert.firing', 'dead_letter.requeued', 'step.succeeded']);
    expect(items.map((e) => e.service)).toEqual(['scheduler', 'executor', 'collector', 'executor', 'alerter', 'executor', 'executor']);
    const positions = items.map((e) => e.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(items[0]).toEqual({
      id: ids.started,
      position: expect.any(Number),
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'scheduler',
      type: 'run.started',
      streamId: 'run-run-1',
      actor: 'schedule',
      summary: 'trigger=schedule',
      causationId: null,
      correlationId: 'corr-1',
      data: { trigger: 'schedule' },
    });
    expect(items[1]).toMatchObject({ causationId: ids.started, actor: null, summary: 'step=fetch, attempt=1' });
    // The secret in the collector's payload is redacted in both the summary and the data.
    expect(items[2]).toMatchObject({ summary: 'error=HTTP 503, step=fetch, apiKey=***', data: { apiKey: '[REDACTED]', error: 'HTTP 503' } });
    expect(items.map((e) => e.marker)).toEqual([undefined, undefined, undefined, 'first_failure', 'detection', 'mitigation', 'resolution']);
  });

  it('selects by correlation, by workflow with and without a time window, and by alert', async () => {
    expect(types((await timeline({ correlation: 'corr-1' })).items)).toEqual(types((await timeline({ run: 'run-1' })).items));

    const workflow = await timeline({ workflow: 'supplier-prices' });
    expect(workflow.items.map((e) => e.streamId)).toContain('run-run-0');
    expect(workflow.items.map((e) => e.streamId)).toContain('run-run-2');
    expect(workflow.items.map((e) => e.streamId)).not.toContain('run-run-3');
    const lastHour = await timeline({ workflow: 'supplier-prices', since: '1h' });
    expect(lastHour.items.map((e) => e.streamId)).not.toContain('run-run-0');
    expect(lastHour.items).toHaveLength(workflow.items.length - 1);

    const alert = (await timeline({ alert: 'A1' })).items;
    expect(alert.map((e) => e.id)).toEqual([ids.firing, ids.ack, ids.resolved]);
    expect(alert.map((e) => e.marker)).toEqual(['detection', 'acknowledgement', 'resolution']);
    expect(alert[1]).toMatchObject({ actor: 'alice', service: 'alerter' });
  });

  it('pages with an opaque cursor without losing, repeating or re-marking entries', async () => {
    const whole = await all({ workflow: 'supplier-prices' });
    const paged = await all({ workflow: 'supplier-prices' }, '2');
    expect(paged).toEqual(whole);
    expect(paged.filter((e) => e.marker === 'first_failure')).toHaveLength(1);
    const first = await timeline({ workflow: 'supplier-prices', limit: '2' });
    expect(first.items).toHaveLength(2);
    expect(first.next).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('answers 400 naming the field for a bad selector, window, cursor or limit', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, 'query', 'give exactly one of run, correlation, workflow, alert'],
      [{ run: 'a', alert: 'b' }, 'query.alert', 'give exactly one of run, correlation, workflow, alert, not run and alert'],
      [{ workflow: 'w', since: 'yesterday' }, 'query.since', 'expected a duration like 30s, 5m, 1h, 30d'],
      [{ run: 'r', since: '1h' }, 'query.since', 'only with workflow'],
      [{ run: 'r', cursor: 'bogus' }, 'query.cursor', 'not a cursor this timeline handed out'],
      [{ run: 'r', limit: '0' }, 'query.limit', 'expected 1..1000'],
      [{ run: 'r', colour: 'red' }, 'query.colour', 'unknown field'],
    ];
    for (const [query, path, message] of cases) {
      const res = await gw.request('GET', '/api/v1/timeline', { query });
      expect({ query, status: res.status, issues: res.body.error.issues }).toEqual({ query, status: 400, issues: [{ path, message }] });
      expect(res.body.error.message).toContain(`${path}: ${message}`);
    }
  });

  it('never lets a page end past a transaction that commits late, so paging does not skip it', async () => {
    await record('a1', 'executor', 'run-late', 'step.started', { n: 1 }, { runId: 'late' });
    await record('a2', 'executor', 'run-late', 'step.started', { n: 2 }, { runId: 'late' });
    await untilCommittedReadable(pool);
    const lateClient = await pool.connect();
    try {
      await lateClient.query('BEGIN');
      // Takes its position now, commits after the two below.
      await record('late', 'executor', 'run-late-x', 'step.failed', { n: 3 }, { runId: 'late' }, lateClient);
      await record('b1', 'executor', 'run-late', 'step.started', { n: 4 }, { runId: 'late' });
      await record('b2', 'executor', 'run-late', 'step.succeeded', { n: 5 }, { runId: 'late' });

      const firstPage = await timeline({ run: 'late', limit: '1' });
      expect(firstPage.items.map((e) => e.id)).toEqual([ids.a1]);
      // While the late transaction is open, nothing that committed after it is shown.
      expect((await all({ run: 'late' })).map((e) => e.id)).toEqual([ids.a1, ids.a2]);

      await lateClient.query('COMMIT');
      await untilCommittedReadable(pool);
      const rest = await all({ run: 'late', cursor: firstPage.next! }, '1');
      expect(rest.map((e) => e.id)).toEqual([ids.a2, ids.late, ids.b1, ids.b2]);
      // Position order differs from commit order: a cursor on positions alone would have skipped it.
      expect(rest[1]!.position).toBeLessThan(rest[2]!.position);
      expect(rest.map((e) => e.marker)).toEqual([undefined, 'first_failure', undefined, 'resolution']);
    } finally {
      lateClient.release();
    }
  });

  describe('stream (Server-Sent Events)', () => {
    async function follow(query: Record<string, string>, until: (entries: Entry[], raw: string) => boolean, act?: () => Promise<void>) {
      const url = new URL('/api/v1/timeline/stream', gw.url);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const abort = new AbortController();
      const res = await fetch(url, { headers: { authorization: `Bearer ${gw.config.STEWARD_BOOTSTRAP_TOKEN}`, accept: 'text/event-stream' }, signal: abort.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const entries: Entry[] = [];
      let raw = '';
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      const acted = act ? setTimeout(() => void act(), 100) : undefined;
      try {
        const deadline = Date.now() + 15_000;
        while (!until(entries, raw) && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          raw += decoder.decode(value, { stream: true });
          entries.length = 0;
          for (const block of raw.split('\n\n')) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) entries.push(JSON.parse(data.slice(6)));
          }
        }
      } finally {
        clearTimeout(acted);
        abort.abort();
      }
      return { entries, raw };
    }

    it('delivers events appended after the last listed position, and keep-alive comments', async () => {
      const listed = (await timeline({ run: 'run-1' })).items;
      const { entries, raw } = await follow(
        { run: 'run-1', after: String(listed.at(-1)!.position) },
        (e, r) => e.length >= 1 && r.includes(': keepalive'),
        async () => {
          await record('followed', 'executor', 'run-run-1', 'run.succeeded', { durationMs: 1200 }, { runId: 'run-1', correlationId: 'corr-1' });
        },
      );
      expect(entries.map((e) => e.id)).toEqual([ids.followed]);
      expect(entries[0]).toMatchObject({ type: 'run.succeeded', service: 'executor', summary: 'durationMs=1200' });
      expect(raw).toContain(': keepalive\n\n');
      // The client went away: the gateway stops polling for it.
      await eventually(() => expect(gw.app.get(TimelineStreams).count).toBe(0), 5000);
    });

    it('starts from the beginning without `after` and refuses a position outside the timeline', async () => {
      const { entries } = await follow({ alert: 'A1' }, (e) => e.length >= 3);
      expect(entries.map((e) => e.id)).toEqual([ids.firing, ids.ack, ids.resolved]);
      const bad = await gw.request('GET', '/api/v1/timeline/stream', { query: { alert: 'A1', after: '999999999' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues).toEqual([{ path: 'query.after', message: 'no entry at position 999999999 in this timeline' }]);
    });
  });
});
