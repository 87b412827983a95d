import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { NotFoundError, ValidationError } from '@steward/contracts';
import type { Queryable } from './pool.factory';

export interface StoredBlob {
  sha256: string;
  size: number;
  /** False when an identical body was already stored (nothing was written). */
  created: boolean;
}

const SHA256 = /^[0-9a-f]{64}$/;

const PUT = {
  name: 'steward_blob_put',
  // ON CONFLICT DO NOTHING: a body already stored is the same bytes (same digest), so the row is left as it is.
  text: 'INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
};
const GET = { name: 'steward_blob_get', text: 'SELECT data FROM blobs WHERE sha256 = $1' };
const HAS = { name: 'steward_blob_has', text: 'SELECT size FROM blobs WHERE sha256 = $1' };

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Content-addressed, append-only storage for raw bodies too large to keep
 * inline in an event (`blobs` table, migration 5). The address is the
 * sha-256 of the bytes, so identical bodies are stored once and a reference
 * in an event can always be verified against what it points to.
 */
export class BlobStore {
  constructor(private readonly pool: Pool) {}

  /** Stores the bytes (once) and returns their address; pass `tx` to write in the caller's transaction. */
  async put(data: Uint8Array, options: { tx?: Queryable; sha256?: string } = {}): Promise<StoredBlob> {
    const digest = sha256Hex(data);
    if (options.sha256 !== undefined && options.sha256 !== digest) {
      throw new ValidationError(`blob digest mismatch: expected ${options.sha256}, the bytes hash to ${digest}`, [{ path: 'sha256', message: 'does not match the data' }]);
    }
    const db = options.tx ?? this.pool;
    const { rowCount } = await db.query({ ...PUT, values: [digest, data.byteLength, Buffer.from(data.buffer, data.byteOffset, data.byteLength)] });
    return { sha256: digest, size: data.byteLength, created: rowCount === 1 };
  }

  /** The bytes at `sha256`; NotFoundError when nothing is stored there. */
  async get(sha256: string, options: { tx?: Queryable } = {}): Promise<Buffer> {
    assertDigest(sha256);
    const { rows } = await (options.tx ?? this.pool).query<{ data: Buffer }>({ ...GET, values: [sha256] });
    if (rows.length === 0) throw new NotFoundError('blob', sha256);
    return rows[0]!.data;
  }

  /** The size stored at `sha256`, or undefined. */
  async sizeOf(sha256: string, options: { tx?: Queryable } = {}): Promise<number | undefined> {
    assertDigest(sha256);
    const { rows } = await (options.tx ?? this.pool).query<{ size: string }>({ ...HAS, values: [sha256] });
    return rows.length === 0 ? undefined : Number(rows[0]!.size);
  }
}

function assertDigest(sha256: string): void {
  if (!SHA256.test(sha256)) throw new ValidationError(`expected a lowercase hex sha-256, got "${sha256.slice(0, 80)}"`, [{ path: 'sha256', message: 'expected a lowercase hex sha-256' }]);
}
