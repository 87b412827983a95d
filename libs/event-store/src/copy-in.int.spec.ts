import { createPool } from './pool.factory';
import { unitOfWork } from './unit-of-work.transaction';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { copyLine, copyRows } from './copy-in';

describe('COPY of rows', () => {
  const env = useTestEnvironment({ label: 'storecopy' });
  let pool: Pool;

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 2 }));
    await pool.query('CREATE TABLE copied (k integer PRIMARY KEY, t text, n numeric, b bigint, at timestamptz)');
  });

  it('stores text with tabs, newlines, backslashes and non-ASCII exactly, and nulls as nulls', async () => {
    const odd = ['tab\there', 'line\nbreak\r\n', 'back\\slash \\N \\t', 'ünïcødé ✓ 💸', '', ' spaced '];
    const body = odd.map((t, k) => copyLine([k, t, '12.3457', 9_007_199_254_740_993n, '2026-12-10T12:00:00.000Z'])).join('') + copyLine([99, null, null, null, null]);
    const rows = await unitOfWork(pool, (tx) => copyRows(tx, 'copied', ['k', 't', 'n', 'b', 'at'], body));
    expect(rows).toBe(odd.length + 1);
    const { rows: back } = await pool.query<{ k: number; t: string | null; n: string | null; b: string | null; at: Date | null }>('SELECT k, t, n::text, b::text, at FROM copied ORDER BY k');
    expect(back.map((r) => r.t)).toEqual([...odd, null]);
    expect(back[0]).toMatchObject({ n: '12.3457', b: '9007199254740993', at: new Date('2026-12-10T12:00:00Z') });
    expect(back[odd.length]).toEqual({ k: 99, t: null, n: null, b: null, at: null });
  });

  it('fails the transaction on a key that exists, leaving nothing of the copy', async () => {
    await expect(unitOfWork(pool, (tx) => copyRows(tx, 'copied', ['k', 't'], copyLine([1000, 'new']) + copyLine([0, 'again'])))).rejects.toMatchObject({ code: '23505' });
    expect((await pool.query('SELECT 1 FROM copied WHERE k = 1000')).rowCount).toBe(0);
    // The connection is usable afterwards (the pool gets it back in a clean state).
    expect(await unitOfWork(pool, (tx) => copyRows(tx, 'copied', ['k', 't'], copyLine([1001, 'next'])))).toBe(1);
  });
});
