import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { FixtureServer } from '../testing/fixture.server';
import { startCollector, type CollectorHarness } from '../testing/collector.harness';

const env = useTestEnvironment({ label: 'collector', setupDatabase: (url) => migrate(url) });
const SECRET = 'sup3r-s3cret-t0ken-value';
const TEST_HOSTS: Record<string, string> = { 'other.test': '127.0.0.1', 'metadata.test': '169.254.169.254' };

describe('collector', () => {
  let fixture: FixtureServer;
  let c: CollectorHarness;

  beforeAll(async () => {
    fixture = env.track(await new FixtureServer().start());
    c = await startCollector(env, {
      instance: 'c1',
      secretSource: { STEWARD_SECRET_PRICES_TOKEN: SECRET },
      // Names under .test stand for other hosts: the guard sees what they resolve to, as with real DNS.
      resolver: async (host) => (TEST_HOSTS[host] ? [{ address: TEST_HOSTS[host], family: 4 }] : lookup(host, { all: true })),
      env: { COLLECTOR_INLINE_MAX_BYTES: '1024', COLLECTOR_LIMIT_MAX_WAIT_MS: '0' },
    });
    env.track({ end: () => c.close() });
  }, 60_000);

  const http = (url: string, extra: Record<string, unknown> = {}) => ({ source: { kind: 'http', url, method: 'GET', headers: {}, query: {} }, ...extra });

  it('captures once per step occurrence: a redelivered step and a retried attempt report the same capture without fetching', async () => {
    const url = fixture.route('/prices.csv', (_req, res) => void res.writeHead(200, { 'content-type': 'text/csv' }).end('sku,price\na,1\n'));
    const q = await c.queue(http(url), { inputs: { day: '2026-12-01' } });
    const first = await c.result(q.runId);
    expect(first.outcome).toMatchObject({ status: 'succeeded', outputs: { status: 200, contentType: 'text/csv', size: 14, source: 'prices.fetch' } });
    expect(first.outcome.outputs.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(c.reports.find((r) => r.name === 'report_step_started' && r.payload.runId === q.runId)?.payload).toMatchObject({ attempt: 1, workerId: 'collector-c1' });

    // The same attempt delivered again (a copy of the event), then the executor's retry as attempt 2.
    await c.queue(http(url), { runId: q.runId, inputs: { day: '2026-12-01' } });
    await c.queue(http(url), { runId: q.runId, attempt: 2, inputs: { day: '2026-12-01' } });
    const second = await c.result(q.runId, 2);
    expect(second.outcome.outputs).toEqual(first.outcome.outputs);
    expect(fixture.count('/prices.csv')).toBe(1);

    const captures = await c.streamEvents(`capture-${first.outcome.outputs.fingerprint}`);
    expect(captures).toHaveLength(1);
    expect(captures[0]!.data).toMatchObject({
      captureId: first.outcome.outputs.captureId,
      body: { storage: 'inline', encoding: 'utf8', data: 'sku,price\na,1\n' },
      request: { kind: 'http', target: url, method: 'GET' },
      runId: q.runId,
      stepId: 'fetch',
    });
  });

  it('fetches once when two deliveries of one attempt overlap', async () => {
    const url = fixture.route('/slow.json', (_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 300));
    const q = await c.queue(http(url));
    await c.queue(http(url), { runId: q.runId });
    const { outcome } = await c.result(q.runId);
    expect(outcome.status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 500));
    expect(fixture.count('/slow.json')).toBe(1);
    expect(c.reports.filter((r) => r.name === 'report_step_result' && r.payload.runId === q.runId)).toHaveLength(1);
  });

  it('fails 503 as transient and 404 as permanent, each recorded with a snapshot of the response', async () => {
    const down = fixture.route('/down', (_req, res) => void res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance'));
    const gone = fixture.route('/gone', (_req, res) => void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such report'));
    const a = await c.queue(http(down));
    const b = await c.queue(http(gone));
    expect((await c.result(a.runId)).outcome).toEqual({ status: 'failed', error: { code: 'http_503', message: expect.stringContaining('503'), retryable: true } });
    expect((await c.result(b.runId)).outcome).toEqual({ status: 'failed', error: { code: 'http_404', message: expect.stringContaining('404'), retryable: false } });
    const failures = (await c.streamEvents('collection-')).map((e) => e.data as Record<string, any>);
    expect(failures.find((f) => f.runId === a.runId)).toMatchObject({ failureClass: 'transient', error: { code: 'http_503' }, snapshot: { status: 503, bodyExcerpt: 'maintenance', contentType: 'text/plain' } });
    expect(failures.find((f) => f.runId === b.runId)).toMatchObject({ failureClass: 'permanent', error: { code: 'http_404' }, snapshot: { status: 404, bodyExcerpt: 'no such report' } });
  });

  it('honours Retry-After on 429 inside the attempt when it fits, then captures', async () => {
    const url = fixture.route('/busy', (_req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('slow down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const q = await c.queue(http(url));
    const result = await c.result(q.runId);
    expect(result.outcome).toMatchObject({ status: 'succeeded', outputs: { contentType: 'application/json', status: 200 } });
    expect(fixture.count('/busy')).toBe(2);
    const failed = (await c.streamEvents('collection-')).map((e) => e.data as Record<string, any>).find((f) => f.runId === q.runId);
    expect(failed).toMatchObject({ failureClass: 'transient', error: { code: 'http_429' }, retryAfterMs: 1000, snapshot: { status: 429 } });
  });

  it('reports a Retry-After that does not fit in the attempt as transient with the delay', async () => {
    const url = fixture.route('/later', (_req, res) => void res.writeHead(429, { 'retry-after': '3600' }).end());
    const q = await c.queue(http(url));
    expect((await c.result(q.runId)).outcome).toEqual({ status: 'failed', error: { code: 'http_429', message: expect.stringContaining('retryAfterMs=3600000'), retryable: true, retryAfterMs: 3_600_000 } });
    expect(fixture.count('/later')).toBe(1);
  });

  it('refuses a body over the limit as permanent without reading it whole', async () => {
    const url = fixture.route('/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024));
      res.end(Buffer.alloc(64 * 1024));
    });
    const q = await c.queue(http(url, { maxBodyBytes: 10_000 }));
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'body_too_large', retryable: false } });
  });

  it('refuses a content type the step does not accept as permanent', async () => {
    const url = fixture.route('/html', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>login</p>'));
    const q = await c.queue(http(url, { accept: ['text/csv', 'application/*'] }));
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'invalid_content_type', retryable: false } });
  });

  it.each([
    ['the metadata endpoint', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', 'http://10.0.0.1/admin'],
  ])('refuses a redirect to %s without connecting to it', async (_what, target) => {
    const path = `/redirect-${target.length}`;
    const url = fixture.route(path, (_req, res) => void res.writeHead(302, { location: target }).end());
    const started = Date.now();
    const q = await c.queue(http(url, { requestTimeoutMs: 20_000 }));
    const result = await c.result(q.runId);
    expect(result.outcome).toMatchObject({ status: 'failed', error: { code: 'destination_refused', retryable: false } });
    expect(result.outcome.error.message).toContain(new URL(target).hostname);
    // A connection attempt to a black-holed address would have run into the 20 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fixture.count(path)).toBe(1);
  });

  it('stores identical large bodies once as a blob and references it from each capture', async () => {
    const body = 'x'.repeat(5_000);
    const url = fixture.route('/big.txt', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
    const a = await c.queue(http(url));
    const b = await c.queue(http(url));
    const [ra, rb] = [await c.result(a.runId), await c.result(b.runId)];
    expect(ra.outcome.outputs.sha256).toBe(rb.outcome.outputs.sha256);
    expect(ra.outcome.outputs.captureId).not.toBe(rb.outcome.outputs.captureId);
    const { rows } = await c.pool.query('SELECT size FROM blobs WHERE sha256 = $1', [ra.outcome.outputs.sha256]);
    expect(rows).toEqual([{ size: '5000' }]);
    const [capture] = await c.streamEvents(`capture-${rb.outcome.outputs.fingerprint}`);
    expect(capture!.data).toMatchObject({ body: { storage: 'blob', sha256: ra.outcome.outputs.sha256 }, size: 5000 });
  });

  it('sends the auth secret to the source and keeps it out of every event, report and log', async () => {
    const url = fixture.route('/private', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=abc', 'x-echo': String(req.headers.authorization) }).end('{"rows":[]}');
    });
    const q = await c.queue(http(url, { source: { kind: 'http', url, method: 'GET', headers: {}, query: {}, auth: { secretRef: 'prices-token' } } }));
    expect((await c.result(q.runId)).outcome.status).toBe('succeeded');
    expect(fixture.requests.find((r) => r.path === '/private')?.headers.authorization).toBe(`Bearer ${SECRET}`);
    const { rows } = await c.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE data::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'", [SECRET]);
    expect(rows[0]!.n).toBe(0);
    const [capture] = await c.streamEvents(`capture-${(await c.result(q.runId)).outcome.outputs.fingerprint}`);
    expect(Object.keys(capture!.data as object)).toContain('headers');
    expect((capture!.data as { headers: Record<string, string> }).headers).not.toHaveProperty('set-cookie');
    expect(JSON.stringify(c.reports)).not.toContain(SECRET);
    expect(JSON.stringify(c.logs)).not.toContain(SECRET);
  });

  it('fails permanently, naming the variable, when the auth secret is missing', async () => {
    const url = fixture.route('/nosecret', (_req, res) => void res.writeHead(200).end('x'));
    const q = await c.queue(http(url, { source: { kind: 'http', url, method: 'GET', headers: {}, query: {}, auth: { secretRef: 'absent' } } }));
    expect((await c.result(q.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'secret_missing', message: expect.stringContaining('STEWARD_SECRET_ABSENT'), retryable: false } });
    expect(fixture.count('/nosecret')).toBe(0);
  });

  it('times out a source that does not answer, and fails a refused connection, both transient', async () => {
    const url = fixture.route('/hang', () => undefined);
    const slow = await c.queue(http(url, { requestTimeoutMs: 300 }));
    expect((await c.result(slow.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'timeout', retryable: true } });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await c.queue(http(`http://127.0.0.1:${port}/x`));
    expect((await c.result(refused.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'connection_failed', retryable: true } });
  });

  it('refuses a host whose DNS answer is link-local, before connecting', async () => {
    const q = await c.queue(http('http://metadata.test/latest/meta-data/'));
    const { outcome } = await c.result(q.runId);
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'destination_refused', retryable: false } });
    expect(outcome.error.message).toContain('metadata.test (169.254.169.254)');
  });

  const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  it('follows redirects within the limit, keeps only negotiation and trace headers when one leaves the origin, and stops past the limit', async () => {
    const final = fixture.route('/final', (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('arrived'));
    fixture.route('/hop', (_req, res) => void res.writeHead(301, { location: '/final' }).end());
    fixture.route('/away', (_req, res) => void res.writeHead(307, { location: final.replace('127.0.0.1', 'other.test') }).end());
    const auth = (url: string, extra: Record<string, unknown> = {}) => ({ source: { kind: 'http', url, method: 'GET', headers: { 'x-api-key': 'static-key', accept: 'text/plain', traceparent: TRACEPARENT }, query: {}, auth: { secretRef: 'prices-token' } }, ...extra });

    const same = await c.queue(auth(fixture.url('/hop')));
    expect((await c.result(same.runId)).outcome).toMatchObject({ status: 'succeeded', outputs: { size: 7 } });
    const sameHeaders = fixture.requests.filter((r) => r.path === '/final').at(-1)!.headers;
    expect(sameHeaders.authorization).toBe(`Bearer ${SECRET}`);
    expect(sameHeaders['x-api-key']).toBe('static-key');

    const away = await c.queue(auth(fixture.url('/away')));
    expect((await c.result(away.runId)).outcome).toMatchObject({ status: 'succeeded' });
    const awayHeaders = fixture.requests.filter((r) => r.path === '/final').at(-1)!.headers;
    expect(awayHeaders.host).toBe(`other.test:${fixture.port}`);
    expect(awayHeaders.authorization).toBeUndefined();
    // A static credential written into the spec's headers stays with its origin too.
    expect(awayHeaders['x-api-key']).toBeUndefined();
    expect(awayHeaders.accept).toBe('text/plain');
    expect(awayHeaders.traceparent).toBe(TRACEPARENT);

    const tooFar = await c.queue(auth(fixture.url('/hop'), { maxRedirects: 0 }));
    expect((await c.result(tooFar.runId)).outcome).toMatchObject({ status: 'failed', error: { code: 'too_many_redirects', retryable: false } });
  });

  it('keeps binary bodies as base64 and serves fetch metrics by source and outcome', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 2]);
    const url = fixture.route('/bin', (_req, res) => void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes));
    const q = await c.queue(http(url), { workflowId: 'binary' });
    const { outcome } = await c.result(q.runId);
    const [capture] = await c.streamEvents(`capture-${outcome.outputs.fingerprint}`);
    expect(capture!.data).toMatchObject({ body: { storage: 'inline', encoding: 'base64', data: bytes.toString('base64') }, size: 5 });
    const metrics = await (await fetch(`${c.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/steward_collector_fetches_total\{[^}]*source="binary.fetch"[^}]*outcome="captured"[^}]*\} 1/);
    expect(metrics).toMatch(/steward_collector_fetched_bytes_total\{[^}]*source="binary.fetch"[^}]*\} 5/);
    expect(metrics).toContain('steward_collector_fetch_duration_seconds_bucket');
    const line = c.logs.find((l) => l.msg === 'capture kept' && l.run_id === q.runId);
    expect(line).toMatchObject({ workflow: 'binary', status: 'succeeded', duration_ms: expect.any(Number) });
  });
});
