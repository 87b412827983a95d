import { migrate } from '@steward/event-store';
import { eventually, useTestEnvironment } from '@steward/testing';
import { freePort, httpJson, ServiceProcess } from './service-process';

const TOKEN_LINE = /steward admin token \(shown once\): (stw_[0-9a-f]{16}_[A-Za-z0-9_-]+)/g;


describe('gateway as a process', () => {
  describe('with a generated first admin token', () => {
    const env = useTestEnvironment({ label: 'gwproc', setupDatabase: (url) => migrate(url) });

    it('prints the token once, serves health, readiness and the API, and prints nothing on the next start', async () => {
      const serviceEnv = { ...env.env(), LOG_LEVEL: 'warn' };
      const first = new ServiceProcess('gateway', await freePort(), serviceEnv).start();
      await first.waitReady();
      expect(await httpJson(first.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      expect((await httpJson(first.port, '/readyz')).body).toMatchObject({ status: 'ready', checks: { postgres: true, nats: true } });
      const printed = [...first.output.join('').matchAll(TOKEN_LINE)].map((m) => m[1]!);
      expect(printed).toHaveLength(1);
      const admin = printed[0]!;
      // Only on that one line: never in a JSON log line.
      expect(first.output.join('').split(admin)).toHaveLength(2);

      expect((await httpJson(first.port, '/api/v1/tokens')).status).toBe(401);
      const created = await httpJson(first.port, '/api/v1/tokens', { token: admin, method: 'POST', body: { name: 'ci', role: 'viewer' } });
      expect(created.status).toBe(201);
      expect((await httpJson(first.port, '/api/v1/timeline?run=r-1', { token: created.body.token })).status).toBe(200);
      // A follower's open event stream must not hold up a graceful stop.
      const follower = await fetch(`http://127.0.0.1:${first.port}/api/v1/timeline/stream?run=r-1`, { headers: { authorization: `Bearer ${admin}` } });
      expect(follower.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const stopping = Date.now();
      expect(await first.kill('SIGTERM')).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(5_000);
      await follower.body?.cancel().catch(() => undefined);

      const second = new ServiceProcess('gateway', await freePort(), serviceEnv).start();
      await second.waitReady();
      expect(second.output.join('')).not.toMatch(TOKEN_LINE);
      expect((await httpJson(second.port, '/api/v1/tokens', { token: admin })).body.items.map((t: { name: string }) => t.name)).toEqual(['bootstrap-admin', 'ci']);
      expect(await second.kill('SIGTERM')).toBe(0);
    });
  });

  describe('with STEWARD_BOOTSTRAP_TOKEN and the ledger relay running', () => {
    const env = useTestEnvironment({ label: 'gwproc2', setupDatabase: (url) => migrate(url) });

    it('takes the admin token from the environment and verifies the store against JetStream as consistent', async () => {
      const admin = 'a-long-bootstrap-token-from-the-deployment';
      const gateway = new ServiceProcess('gateway', await freePort(), { ...env.env(), LOG_LEVEL: 'warn', STEWARD_BOOTSTRAP_TOKEN: admin }).start();
      const ledger = new ServiceProcess('ledger', await freePort(), { ...env.env(), LOG_LEVEL: 'warn', RELAY_POLL_MS: '100' }).start();
      try {
        await Promise.all([gateway.waitReady(), ledger.waitReady()]);
        expect(gateway.output.join('')).not.toMatch(TOKEN_LINE);
        expect(gateway.output.join('')).not.toContain(admin);
        for (const name of ['a', 'b', 'c']) {
          expect((await httpJson(gateway.port, '/api/v1/tokens', { token: admin, method: 'POST', body: { name, role: 'operator' } })).status).toBe(201);
        }
        // The ledger announces itself: the gateway routes its commands instead of answering 503.
        await eventually(async () => expect((await httpJson(gateway.port, '/api/v1/services', { token: admin })).body.items.map((s: { service: string }) => s.service)).toEqual(['gateway', 'ledger']));
        const report = await eventually(async () => {
          const r = await httpJson(gateway.port, '/api/v1/verify', { token: admin });
          // Consistent and caught up: the relay published the bootstrap's two events and the three tokens.
          expect(r.body).toMatchObject({ ok: true, checks: [{ matched: 5 }, { lagEvents: 0 }, { ok: true }, { ok: true }, { ok: true }] });
          return r.body;
        }, 45_000, 200);
        expect(report.checks.map((c: { name: string }) => c.name)).toEqual(['store-vs-jetstream', 'relay-lag', 'projection:gateway_tokens', 'projection:cost_records', 'projection:projection_rebuilds']);
      } finally {
        expect(await gateway.kill('SIGTERM')).toBe(0);
        expect(await ledger.kill('SIGTERM')).toBe(0);
      }
    });
  });
});
