import type { CaptureBody } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';

/** Where blob bodies are read: the event store's BlobStore, or a test double of it. */
export interface BlobSource {
  get(sha256: string, options?: { tx?: Queryable }): Promise<Buffer>;
}

/** The bytes of a capture: inline text or base64, or the content-addressed blob it names. */
export async function captureBytes(body: CaptureBody, blobs: BlobSource | undefined, tx?: Queryable): Promise<Buffer> {
  if (body.storage === 'inline') return Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
  if (!blobs) throw new Error('capture body is a blob but no blob store is configured');
  return blobs.get(body.sha256, tx ? { tx } : {});
}
