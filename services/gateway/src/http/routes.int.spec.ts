import type { TokenRole } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { API_CONTROLLERS } from '../api.controllers';
import { startGateway, type GatewayHarness, type RequestOptions } from '../testing/gateway.fixture';
import { endpointsOf } from './endpoint.registry';

interface Call {
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

interface RouteCase {
  /** A valid request: passes validation, so what it answers is up to auth and the owning service. */
  ok: (ctx: { tokenId: string }) => Call;
  /** What a valid request gets once authorised: success, or 503 naming the service that is not running. */
  expect: number | { status: 503; service: string };
  /** A bad request and the field the 400 must name. */
  bad: Call & { field: string };
}

const unavailable = (service: string) => ({ status: 503 as const, service });
const reason = { reason: 'testing' };

/** Every route of /api/v1. The first test fails when a route is added without a line here. */
const ROUTES: Record<string, RouteCase> = {
  'POST /tokens': { ok: () => ({ path: '/tokens', body: { name: `t-${Math.random().toString(36).slice(2)}`, role: 'viewer' } }), expect: 201, bad: { path: '/tokens', body: { name: 'x', role: 'root' }, field: 'body.role' } },
  'GET /tokens': { ok: () => ({ path: '/tokens' }), expect: 200, bad: { path: '/tokens', query: { limit: 'many' }, field: 'query.limit' } },
  'GET /tokens/:id': { ok: ({ tokenId }) => ({ path: `/tokens/${tokenId}` }), expect: 200, bad: { path: '/tokens/not-hex', field: 'params.id' } },
  'DELETE /tokens/:id': { ok: ({ tokenId }) => ({ path: `/tokens/${tokenId}` }), expect: 200, bad: { path: '/tokens/XYZ', field: 'params.id' } },
  'GET /timeline': { ok: () => ({ path: '/timeline', query: { run: 'r-1' } }), expect: 200, bad: { path: '/timeline', query: { workflow: 'w', since: '1 hour' }, field: 'query.since' } },
  'GET /timeline/stream': { ok: () => ({ path: '/timeline/stream', query: { run: 'r-1' } }), expect: 200, bad: { path: '/timeline/stream', query: { run: 'r-1', after: 'last' }, field: 'query.after' } },
  'GET /verify': { ok: () => ({ path: '/verify' }), expect: 200, bad: { path: '/verify', query: { since: '-1h' }, field: 'query.since' } },
  'GET /services': { ok: () => ({ path: '/services' }), expect: 200, bad: { path: '/services', query: { service: 'x' }, field: 'query.service' } },
  'POST /workflows': { ok: () => ({ path: '/workflows', body: { yaml: 'id: w\n', file: 'w.yaml' } }), expect: unavailable('scheduler'), bad: { path: '/workflows', body: { yaml: '' }, field: 'body.yaml' } },
  'GET /workflows': { ok: () => ({ path: '/workflows' }), expect: unavailable('scheduler'), bad: { path: '/workflows', query: { limit: '0' }, field: 'query.limit' } },
  'GET /workflows/:id': { ok: () => ({ path: '/workflows/w' }), expect: unavailable('scheduler'), bad: { path: '/workflows/%20w', field: 'params.id' } },
  'POST /workflows/:id/pause': { ok: () => ({ path: '/workflows/w/pause', body: reason }), expect: unavailable('scheduler'), bad: { path: '/workflows/w/pause', body: { reason: 42 }, field: 'body.reason' } },
  'POST /workflows/:id/resume': { ok: () => ({ path: '/workflows/w/resume', body: {} }), expect: unavailable('scheduler'), bad: { path: '/workflows/w/resume', body: { why: 'x' }, field: 'body.why' } },
  'POST /runs': { ok: () => ({ path: '/runs', body: { workflow: 'w', input: { day: '2026-05-01' } } }), expect: unavailable('scheduler'), bad: { path: '/runs', body: { input: {} }, field: 'body.workflow' } },
  'GET /runs': { ok: () => ({ path: '/runs', query: { workflow: 'w', status: 'failed' } }), expect: unavailable('executor'), bad: { path: '/runs', query: { status: 'Not A Status' }, field: 'query.status' } },
  'GET /runs/:id': { ok: () => ({ path: '/runs/r-1' }), expect: unavailable('executor'), bad: { path: '/runs/r%201', field: 'params.id' } },
  'GET /runs/:id/wait': { ok: () => ({ path: '/runs/r-1/wait', query: { timeout: '60s' } }), expect: unavailable('executor'), bad: { path: '/runs/r-1/wait', query: { timeout: 'soon' }, field: 'query.timeout' } },
  'POST /runs/:id/cancel': { ok: () => ({ path: '/runs/r-1/cancel', body: reason }), expect: unavailable('executor'), bad: { path: '/runs/r-1/cancel', body: { reason: '' }, field: 'body.reason' } },
  'GET /approvals': { ok: () => ({ path: '/approvals' }), expect: unavailable('executor'), bad: { path: '/approvals', query: { cursor: '' }, field: 'query.cursor' } },
  'POST /approvals/:run/:step/approve': { ok: () => ({ path: '/approvals/r-1/big/approve', body: { comment: 'ok' } }), expect: unavailable('executor'), bad: { path: '/approvals/r-1/big/approve', body: { comment: ['x'] }, field: 'body.comment' } },
  'POST /approvals/:run/:step/reject': { ok: () => ({ path: '/approvals/r-1/big/reject', body: {} }), expect: unavailable('executor'), bad: { path: '/approvals/r-1/-big/reject', body: {}, field: 'params.step' } },
  'GET /dlq': { ok: () => ({ path: '/dlq', query: { workflow: 'w', code: 'http_503', since: '24h' } }), expect: unavailable('executor'), bad: { path: '/dlq', query: { since: '24 hours' }, field: 'query.since' } },
  'POST /dlq/:id/requeue': { ok: () => ({ path: '/dlq/d-1/requeue', body: reason }), expect: unavailable('executor'), bad: { path: '/dlq/d-1/requeue', body: { reason: 7 }, field: 'body.reason' } },
  'POST /dlq/:id/discard': { ok: () => ({ path: '/dlq/d-1/discard', body: reason }), expect: unavailable('executor'), bad: { path: '/dlq/d-1/discard', body: {}, field: 'body.reason' } },
  'POST /dlq/requeue': {
    ok: () => ({ path: '/dlq/requeue', body: { filter: { workflow: 'w', step: 'fetch', code: 'http_503', since: '24h' }, reason: 'testing' } }),
    expect: unavailable('executor'),
    bad: { path: '/dlq/requeue', body: { filter: {} }, field: 'body.filter' },
  },
  'POST /dlq/discard': { ok: () => ({ path: '/dlq/discard', body: { all: true, reason: 'testing' } }), expect: unavailable('executor'), bad: { path: '/dlq/discard', body: { filter: { code: 'x' } }, field: 'body.reason' } },
  'POST /replays': {
    ok: () => ({ path: '/replays', body: { workflow: 'w', from: '2026-05-01T00:00:00Z', transform: 'supplier-prices@3', dryRun: true } }),
    expect: 202,
    bad: { path: '/replays', body: { workflow: 'w', transform: 'supplier-prices' }, field: 'body.transform' },
  },
  'POST /replays/:id/cancel': { ok: () => ({ path: '/replays/rp-1/cancel', body: reason }), expect: 503, bad: { path: '/replays/rp-1/cancel', body: { reason: '' }, field: 'body.reason' } },
  'GET /sources': { ok: () => ({ path: '/sources', query: { disabled: 'true' } }), expect: unavailable('collector'), bad: { path: '/sources', query: { disabled: 'yes' }, field: 'query.disabled' } },
  'POST /sources/:id/disable': { ok: () => ({ path: '/sources/prices.fetch/disable', body: reason }), expect: unavailable('collector'), bad: { path: '/sources/prices.fetch/disable', body: { why: 'x' }, field: 'body.why' } },
  'POST /sources/:id/enable': { ok: () => ({ path: '/sources/prices.fetch/enable', body: {} }), expect: unavailable('collector'), bad: { path: '/sources/prices%20fetch/enable', body: {}, field: 'params.id' } },
  'GET /replays/:id': { ok: () => ({ path: '/replays/rp-1' }), expect: 503, bad: { path: '/replays/rp%2F1', field: 'params.id' } },
  'GET /replays/:id/diff': { ok: () => ({ path: '/replays/rp-1/diff' }), expect: 503, bad: { path: '/replays/%20/diff', field: 'params.id' } },
  'GET /alerts': { ok: () => ({ path: '/alerts', query: { state: 'firing' } }), expect: unavailable('alerter'), bad: { path: '/alerts', query: { state: 'on fire' }, field: 'query.state' } },
  'POST /alerts/:id/ack': { ok: () => ({ path: '/alerts/a-1/ack', body: {} }), expect: unavailable('alerter'), bad: { path: '/alerts/a-1/ack', body: { by: 'me' }, field: 'body.by' } },
  'POST /alerts/:id/resolve': { ok: () => ({ path: '/alerts/a-1/resolve', body: {} }), expect: unavailable('alerter'), bad: { path: '/alerts/a-1/resolve', body: [], field: 'body' } },
  'POST /silences': {
    ok: () => ({ path: '/silences', body: { matchers: [{ name: 'workflow', value: 'w' }], durationSeconds: 7200 } }),
    expect: unavailable('alerter'),
    bad: { path: '/silences', body: { matchers: [{ name: '', value: 'w' }], durationSeconds: 60 }, field: 'body.matchers[0].name' },
  },
  'POST /alert-rules': { ok: () => ({ path: '/alert-rules', body: { yaml: 'rules: []\n' } }), expect: unavailable('alerter'), bad: { path: '/alert-rules', body: { file: 'x.yaml' }, field: 'body.yaml' } },
  'GET /silences': { ok: () => ({ path: '/silences', query: { state: 'all' } }), expect: unavailable('alerter'), bad: { path: '/silences', query: { state: 'gone' }, field: 'query.state' } },
  'POST /silences/:id/expire': { ok: () => ({ path: '/silences/si-1/expire', body: {} }), expect: unavailable('alerter'), bad: { path: '/silences/si%201/expire', body: {}, field: 'params.id' } },
  'GET /alert-rules': { ok: () => ({ path: '/alert-rules' }), expect: unavailable('alerter'), bad: { path: '/alert-rules', query: { limit: 'many' }, field: 'query.limit' } },
  'GET /costs/report': { ok: () => ({ path: '/costs/report', query: { by: 'workflow', since: '30d' } }), expect: unavailable('cost-tracker'), bad: { path: '/costs/report', query: { by: 'colour' }, field: 'query.by' } },
  'GET /budgets': { ok: () => ({ path: '/budgets' }), expect: unavailable('cost-tracker'), bad: { path: '/budgets', query: { page: '2' }, field: 'query.page' } },
  'PUT /budgets/:scope/:id': {
    ok: () => ({ path: '/budgets/owner/pricing-team', body: { monthlyUsd: 40, thresholds: [0.5, 0.8, 1] } }),
    expect: unavailable('cost-tracker'),
    bad: { path: '/budgets/owner/pricing-team', body: { monthlyUsd: -5 }, field: 'body.monthlyUsd' },
  },
  'POST /prices': { ok: () => ({ path: '/prices', body: { yaml: 'prices: []\n' } }), expect: unavailable('cost-tracker'), bad: { path: '/prices', body: { yaml: 3 }, field: 'body.yaml' } },
  'GET /prices': { ok: () => ({ path: '/prices' }), expect: unavailable('cost-tracker'), bad: { path: '/prices', query: { limit: '1.5' }, field: 'query.limit' } },
  'GET /reports/ops': { ok: () => ({ path: '/reports/ops', query: { since: '7d' } }), expect: 200, bad: { path: '/reports/ops', query: { since: '7 days' }, field: 'query.since' } },
  'GET /datasets': { ok: () => ({ path: '/datasets' }), expect: unavailable('transformer'), bad: { path: '/datasets', query: { limit: '-1' }, field: 'query.limit' } },
  'GET /datasets/:id': { ok: () => ({ path: '/datasets/prices' }), expect: unavailable('transformer'), bad: { path: '/datasets/.prices', field: 'params.id' } },
  'GET /datasets/:id/quarantine': { ok: () => ({ path: '/datasets/prices/quarantine' }), expect: unavailable('transformer'), bad: { path: '/datasets/prices/quarantine', query: { cursor: 'x'.repeat(2000) }, field: 'query.cursor' } },
  'POST /datasets/:id/promote': { ok: () => ({ path: '/datasets/prices/promote', body: { version: 2, reason: 'testing' } }), expect: unavailable('transformer'), bad: { path: '/datasets/prices/promote', body: { version: 0 }, field: 'body.version' } },
};

describe('every API route', () => {
  const env = useTestEnvironment({ label: 'gwroutes', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  const tokens = {} as Record<TokenRole, string>;
  const endpoints = endpointsOf(API_CONTROLLERS);

  beforeAll(async () => {
    // A short command timeout: the ledger "runs" in this test but never answers, so its commands end pending.
    gw = await startGateway(env, { RATE_LIMIT_BURST: '100000', RATE_LIMIT_RPS: '100000', COMMAND_TIMEOUT_MS: '300' });
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = (await gw.tokenFor(role)).token;
    const { PresenceReporter } = await import('@steward/messaging');
    const ledger = new PresenceReporter(env.nats.nc, env.nats.subjects, { service: 'ledger', intervalMs: 60_000, capabilities: ['cmd:start_replay'] });
    await ledger.start();
    env.track({ end: () => ledger.stop() });
  });

  async function call(method: string, c: Call, token: string | null): Promise<{ status: number; body: any }> {
    const options: RequestOptions = { token, query: c.query, ...(c.body !== undefined && { body: c.body }) };
    if (method === 'GET' && c.path.startsWith('/timeline/stream')) {
      // An event stream never ends by itself: look at the status and headers, then hang up.
      const url = new URL(`/api/v1${c.path}`, gw.url);
      for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
      const abort = new AbortController();
      const res = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, signal: abort.signal });
      const body = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : undefined;
      abort.abort();
      return { status: res.status, body };
    }
    return gw.request(method, `/api/v1${c.path}`, options);
  }

  const key = (e: { method: string; path: string }) => `${e.method} ${e.path}`;

  it('has a test case for each route the gateway serves', () => {
    expect(Object.keys(ROUTES).sort()).toEqual(endpoints.map(key).sort());
  });

  it.each(Object.keys(ROUTES))('%s: 401 without a token or with a bad one, 403 naming the roles below its own, and passes with its role', async (route) => {
    const [method] = route.split(' ') as [string];
    const spec = endpoints.find((e) => key(e) === route)!;
    const c = ROUTES[route]!;
    const tokenId = (await gw.tokenFor('viewer')).id;

    for (const token of [null, 'stw_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', tokens.viewer.slice(0, -2) + 'xx']) {
      const res = await call(method, c.ok({ tokenId }), token);
      expect({ token, status: res.status, code: res.body?.error?.code }).toEqual({ token, status: 401, code: 'unauthorised' });
    }
    const below = (['viewer', 'operator'] as const).filter((r) => r !== spec.role && (spec.role === 'admin' || r === 'viewer') && spec.role !== 'viewer');
    for (const role of below) {
      const res = await call(method, c.ok({ tokenId }), tokens[role]);
      expect({ role, status: res.status, error: res.body?.error }).toEqual({
        role,
        status: 403,
        error: { code: 'forbidden', message: expect.stringContaining(`needs the ${spec.role} role`), context: { role, required: spec.role } },
      });
    }
    const res = await call(method, c.ok({ tokenId }), tokens[spec.role]);
    if (typeof c.expect === 'number') {
      expect({ route, status: res.status }).toEqual({ route, status: c.expect });
    } else {
      expect({ route, status: res.status, error: res.body?.error }).toEqual({
        route,
        status: 503,
        error: { code: 'unavailable', message: `the ${c.expect.service} service is not running`, context: { service: c.expect.service } },
      });
    }
  });

  it.each(Object.keys(ROUTES))('%s: 400 naming the field for bad input', async (route) => {
    const [method] = route.split(' ') as [string];
    const { field, ...bad } = ROUTES[route]!.bad;
    const res = await call(method, bad, tokens.admin);
    expect({ route, status: res.status, code: res.body?.error?.code }).toEqual({ route, status: 400, code: 'validation' });
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect(res.body.error.message).toContain(`${field}: `);
  });

  it('answers unknown routes with 404 in the API error shape, and serves health and docs without a token', async () => {
    for (const path of ['/api/v1/nope', '/api/v2/timeline', '/nowhere']) {
      const res = await gw.request('GET', path, { token: null });
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: { error: { code: 'not_found', message: `no route GET ${path}` } } });
    }
    expect((await gw.request('PATCH', '/api/v1/tokens')).body.error.code).toBe('not_found');
    expect((await gw.request('GET', '/healthz', { token: null })).body).toEqual({ status: 'ok' });
    expect((await gw.request('GET', '/readyz', { token: null })).status).toBe(200);
    const metrics = await gw.request('GET', '/metrics', { token: null });
    expect(metrics.text).toMatch(/steward_http_requests_total\{[^}]*route="\/api\/v1\/timeline"[^}]*status="200"/);
    const docs = await gw.request('GET', '/api/docs/openapi.json', { token: null });
    expect(docs.body.openapi).toBe('3.1.0');
    const page = await gw.request('GET', '/api/docs', { token: null });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('/api/v1/timeline/stream');
  });

  it('sends a command to a running service and answers 202 with the command id when it does not answer in time, recording who asked', async () => {
    const res = await gw.request('POST', '/api/v1/replays', { token: tokens.operator, body: { source: 'portal', transform: 'prices@2' } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'pending', commandId: expect.any(String), service: 'ledger' });
    const audit = await eventually(async () => {
      const r = await gw.request('GET', '/api/v1/timeline', { token: tokens.viewer, query: { correlation: res.body.commandId } });
      expect(r.body.items).toHaveLength(1);
      return r;
    });
    expect(audit.body.items).toEqual([
      expect.objectContaining({ type: 'operator.action_recorded', service: 'gateway', summary: 'replays.start requested', data: expect.objectContaining({ service: 'ledger', command: 'start_replay' }) }),
    ]);
    expect(audit.body.items[0].actor).toMatch(/^operator-/);
  });
});
