import { createPool } from '@steward/event-store';
import { useTestEnvironment } from '@steward/testing';
import { toHttpError } from './http-error.mapper';

const env = useTestEnvironment({ label: 'gateway-read-timeout' });

describe('a read past READ_STATEMENT_TIMEOUT_MS', () => {
  it('is cancelled by Postgres and answered 503 with what to do, not a 500', async () => {
    const pool = env.track(createPool(env.db.url, { max: 1, statementTimeoutMs: 100 }));
    const started = Date.now();
    const err = await pool.query('SELECT pg_sleep(5)').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err).toMatchObject({ code: '57014' });
    expect(toHttpError(err, { bodyLimitLabel: '1mb', method: 'GET', path: '/api/v1/datasets/x/diff' })).toMatchObject({
      status: 503,
      headers: { 'retry-after': '5' },
      body: { error: { code: 'unavailable', message: expect.stringContaining('READ_STATEMENT_TIMEOUT_MS') } },
    });
    // The pool's other statements are not affected.
    await expect(pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });
});
