import { EventRegistry, gatewayEvents } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { ensureGatewaySchema } from '../gateway.migrations';
import { TokenRepository } from './token.repository';
import { BOOTSTRAP_STREAM, TokenService } from './token.service';

describe('first admin token', () => {
  const env = useTestEnvironment({ label: 'gwboot', setupDatabase: (url) => migrate(url) });

  function replica(): { tokens: TokenService; store: EventStore } {
    const pool = env.track(createPool(env.db.url, { max: 4 }));
    const store = new EventStore(pool, { registry: new EventRegistry(gatewayEvents), source: 'gateway' });
    return { tokens: new TokenService(pool, store, new TokenRepository(pool), 1000), store };
  }

  it('is created by exactly one of several replicas starting at once, and never again', async () => {
    const replicas = Array.from({ length: 4 }, replica);
    // Every replica also runs the schema DDL concurrently, as real starts do.
    await Promise.all(replicas.map(() => ensureGatewaySchema(env.track(createPool(env.db.url, { max: 1 })))));
    const results = await Promise.all(replicas.map((r) => r.tokens.bootstrap(undefined)));

    const created = results.filter((r) => r.status === 'created');
    expect(created).toHaveLength(1);
    expect(results.filter((r) => r.status === 'exists')).toHaveLength(3);
    const winner = created[0] as Extract<(typeof results)[number], { status: 'created' }>;
    expect(winner.source).toBe('generated');
    expect(winner.token).toMatch(/^stw_[0-9a-f]{16}_/);

    const { store, tokens } = replicas[0]!;
    expect((await store.readStream(BOOTSTRAP_STREAM)).map((e) => e.data)).toEqual([{ tokenId: winner.tokenId, source: 'generated' }]);
    const pool = env.track(createPool(env.db.url, { max: 1 }));
    expect((await pool.query('SELECT id, role FROM gateway_tokens')).rows).toEqual([{ id: winner.tokenId, role: 'admin' }]);
    // Every replica accepts the one token; a second start creates nothing, even with an env token.
    for (const r of replicas) await expect(r.tokens.authenticate(winner.token!)).resolves.toMatchObject({ role: 'admin', name: 'bootstrap-admin' });
    await expect(tokens.bootstrap('another-admin-token-of-24-chars-or-more')).resolves.toEqual({ status: 'exists' });
    await expect(tokens.authenticate('another-admin-token-of-24-chars-or-more')).rejects.toMatchObject({ code: 'unauthorised' });
  });
});
