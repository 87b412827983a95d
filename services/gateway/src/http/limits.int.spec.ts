import { migrate } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { startGateway, type GatewayHarness, type Reply } from '../testing/gateway.fixture';

describe('request limits', () => {
  const env = useTestEnvironment({ label: 'gwlimits', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;

  beforeAll(async () => {
    gw = await startGateway(env, { RATE_LIMIT_BURST: '5', RATE_LIMIT_RPS: '1' });
  });

  it('refuses a body over 1mb with 413 naming the limit, and takes one just under it', async () => {
    const big = await gw.request('POST', '/api/v1/workflows', { body: { yaml: 'x'.repeat(1024 * 1024 + 10) } });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ error: { code: 'validation', message: 'request body exceeds 1mb', issues: [{ path: 'body', message: 'larger than 1mb' }] } });
    // Far above Express's default 100kb: the configured limit is the one in force.
    const fits = await gw.request('POST', '/api/v1/workflows', { body: { yaml: 'x'.repeat(900 * 1024) } });
    expect(fits.status).toBe(503);
  });

  it('answers a body that is not JSON with 400 naming the body', async () => {
    const res = await gw.request('POST', '/api/v1/tokens', { rawBody: '{"name": "ci", ' });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'validation', message: 'request body is not valid JSON', issues: [{ path: 'body', message: 'not valid JSON' }] });
  });

  it('limits each token to its burst, then answers 429 with Retry-After, without slowing other tokens', async () => {
    const { token } = await gw.tokenFor('viewer');
    const statuses: number[] = [];
    let limited: Reply | undefined;
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const res = await gw.request('GET', '/api/v1/services', { token });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    // The bucket refills one token a second: on a loaded machine the eight requests may span
    // a second or more, and each whole second lets one more through. Never fewer than the burst.
    const refilled = Math.floor((Date.now() - started) / 1000);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5 + refilled);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(Math.max(1, 3 - refilled));
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(limited!.headers.get('retry-after')).toBe('1');
    expect(limited!.body.error).toEqual({ code: 'rate_limited', message: 'rate limit exceeded; retry after 1s', context: { retryAfterSeconds: 1 } });
    const other = await gw.tokenFor('viewer');
    expect((await gw.request('GET', '/api/v1/services', { token: other.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gw.request('GET', '/api/v1/services', { token })).status).toBe(200);
  });
});
