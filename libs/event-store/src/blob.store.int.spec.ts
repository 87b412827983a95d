import type { Pool } from 'pg';
import { useTestEnvironment } from '@steward/testing';
import { BlobStore, createPool, migrate, sha256Hex, unitOfWork } from './index';

const env = useTestEnvironment({ label: 'blobs', setupDatabase: (url) => migrate(url) });

describe('blob store', () => {
  let pool: Pool;
  let blobs: BlobStore;

  beforeAll(() => {
    pool = env.track(createPool(env.db.url, { max: 4 }));
    blobs = new BlobStore(pool);
  });

  it('stores identical bodies once, addressed by their sha-256', async () => {
    const body = Buffer.from('a,b\n1,2\n'.repeat(1000));
    const first = await blobs.put(body);
    const second = await blobs.put(Buffer.from(body));
    expect(first).toEqual({ sha256: sha256Hex(body), size: body.byteLength, created: true });
    expect(second).toEqual({ ...first, created: false });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM blobs WHERE sha256 = $1', [first.sha256]);
    expect(rows[0].n).toBe(1);
    expect((await blobs.get(first.sha256)).equals(body)).toBe(true);
    expect(await blobs.sizeOf(first.sha256)).toBe(body.byteLength);
  });

  it('keeps binary bytes exactly, and writes inside the caller transaction', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const rolledBack = await unitOfWork(pool, async (tx) => {
      await blobs.put(bytes.subarray(1), { tx });
      throw new Error('roll back');
    }).catch(() => 'rolled back');
    expect(rolledBack).toBe('rolled back');
    expect(await blobs.sizeOf(sha256Hex(bytes.subarray(1)))).toBeUndefined();
    const stored = await blobs.put(bytes);
    expect([...(await blobs.get(stored.sha256))]).toEqual([...bytes]);
  });

  it('refuses a digest that does not match the bytes, an unknown address, and any change to a stored blob', async () => {
    await expect(blobs.put(Buffer.from('x'), { sha256: '0'.repeat(64) })).rejects.toThrow(/digest mismatch/);
    await expect(blobs.get('f'.repeat(64))).rejects.toThrow(/not found/);
    await expect(blobs.get('nope')).rejects.toThrow(/expected a lowercase hex sha-256/);
    const { sha256 } = await blobs.put(Buffer.from('kept forever'));
    await expect(pool.query("UPDATE blobs SET data = 'x' WHERE sha256 = $1", [sha256])).rejects.toMatchObject({ code: 'SE002' });
    await expect(pool.query('DELETE FROM blobs WHERE sha256 = $1', [sha256])).rejects.toMatchObject({ code: 'SE002' });
    await expect(pool.query('TRUNCATE blobs')).rejects.toMatchObject({ code: 'SE002' });
  });
});
