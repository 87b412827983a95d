import { createPool, EventStore, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { startGateway, TEST_ADMIN_TOKEN, type GatewayHarness } from '../testing/gateway.fixture';
import { tokenIdOf } from './token.format';

describe('API tokens', () => {
  const env = useTestEnvironment({ label: 'gwtokens', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;

  beforeAll(async () => {
    gw = await startGateway(env, { TOKEN_CACHE_TTL_MS: '60000' });
  });

  it('creates a token whose secret is shown once and never listed, and records the creation with the actor', async () => {
    const created = await gw.request('POST', '/api/v1/tokens', { body: { name: 'ci-deploy', role: 'operator' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ci-deploy', role: 'operator', createdBy: 'bootstrap-admin', revokedAt: null });
    expect(created.body.token).toMatch(/^stw_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.id).toBe(created.body.token.slice(4, 20));
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);

    const list = await gw.request('GET', '/api/v1/tokens');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['bootstrap-admin', 'ci-deploy']);
    expect(list.text).not.toContain(created.body.token);
    expect(list.text).not.toMatch(/"(hash|salt)"/);

    // The store holds the creation with the actor, and never the plaintext token.
    const pool = env.track(createPool(env.db.url, { max: 1 }));
    const [event] = await new EventStore(pool).readStream(`token-${created.body.id}`);
    expect(event).toMatchObject({ type: 'token.created', metadata: { actor: 'bootstrap-admin', source: 'gateway' } });
    expect(JSON.stringify([event!.data, event!.metadata])).not.toContain(created.body.token);
  });

  it('lets the new token in with its role and refuses it once revoked, with the revocation recorded', async () => {
    const viewer = await gw.tokenFor('viewer', 'dashboards');
    expect((await gw.request('GET', '/api/v1/timeline', { token: viewer.token, query: { run: 'r-1' } })).status).toBe(200);

    const revoked = await gw.request('DELETE', `/api/v1/tokens/${viewer.id}`, { query: { reason: 'leaked in a log' } });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: viewer.id, name: 'dashboards' });
    expect(revoked.body.revokedAt).not.toBeNull();

    // Revocation drops the cached verification at once (the cache TTL here is a minute).
    const refused = await gw.request('GET', '/api/v1/timeline', { token: viewer.token, query: { run: 'r-1' } });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorised');

    expect((await gw.request('DELETE', `/api/v1/tokens/${viewer.id}`)).status).toBe(409);
    const listed = await gw.request('GET', '/api/v1/tokens', { query: { revoked: 'true' } });
    expect(listed.body.items.find((t: { id: string }) => t.id === viewer.id).revokedAt).toBe(revoked.body.revokedAt);
    expect((await gw.request('GET', '/api/v1/tokens')).body.items.some((t: { id: string }) => t.id === viewer.id)).toBe(false);

    const pool = env.track(createPool(env.db.url, { max: 1 }));
    const events = await new EventStore(pool).readStream(`token-${viewer.id}`);
    expect(events.map((e) => e.type)).toEqual(['token.created', 'token.revoked']);
    expect(events[1]).toMatchObject({ data: { tokenId: viewer.id, revokedBy: 'bootstrap-admin', reason: 'leaked in a log' }, metadata: { actor: 'bootstrap-admin' } });
  });

  it('keeps the teams a token belongs to (approvers may name them) and refuses a malformed team with its path', async () => {
    const created = await gw.request('POST', '/api/v1/tokens', { body: { name: 'pricing-lead', role: 'operator', teams: ['pricing-team', 'ops', 'ops'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'pricing-lead', teams: ['pricing-team', 'ops'] });
    expect((await gw.request('GET', `/api/v1/tokens/${created.body.id}`)).body.teams).toEqual(['pricing-team', 'ops']);
    const bad = await gw.request('POST', '/api/v1/tokens', { body: { name: 'x', role: 'viewer', teams: ['Pricing Team'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([expect.objectContaining({ path: 'body.teams[0]' })]);
  });

  it('refuses a second live token with the same name, and 404s an unknown id', async () => {
    await gw.tokenFor('viewer', 'grafana');
    const dup = await gw.request('POST', '/api/v1/tokens', { body: { name: 'grafana', role: 'admin' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'illegal_state', context: { name: 'grafana' } });
    const missing = await gw.request('DELETE', '/api/v1/tokens/0123456789abcdef');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', message: 'token 0123456789abcdef not found' });
  });

  it('pages the token list with an opaque cursor', async () => {
    for (let i = 0; i < 3; i++) await gw.tokenFor('viewer', `pager-${i}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await gw.request('GET', '/api/v1/tokens', { query: { limit: '2', cursor } });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((t: { name: string }) => t.name));
      cursor = res.body.next;
      if (!cursor) break;
    }
    const all = (await gw.request('GET', '/api/v1/tokens', { query: { limit: '1000' } })).body.items.map((t: { name: string }) => t.name);
    expect(seen).toEqual(all);
    expect(seen).toEqual(expect.arrayContaining(['pager-0', 'pager-1', 'pager-2']));
    const bad = await gw.request('GET', '/api/v1/tokens', { query: { cursor: 'garbage' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([{ path: 'query.cursor', message: 'not a cursor this listing handed out' }]);
  });

  it('stores the bootstrap token from STEWARD_BOOTSTRAP_TOKEN hashed under a derived id', async () => {
    const me = await gw.request('GET', `/api/v1/tokens/${tokenIdOf(TEST_ADMIN_TOKEN)}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'bootstrap-admin', role: 'admin', createdBy: 'steward-gateway' });
    const pool = env.track(createPool(env.db.url, { max: 1 }));
    const { rows } = await pool.query('SELECT * FROM gateway_tokens WHERE id = $1', [me.body.id]);
    expect(JSON.stringify(rows)).not.toContain(TEST_ADMIN_TOKEN);
    expect(rows[0].hash).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});
