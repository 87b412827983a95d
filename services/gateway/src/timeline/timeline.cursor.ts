import { ValidationError } from '@steward/contracts';
import type { Cursor } from '@steward/event-store';
import { decodeMarkers, encodeMarkers, type MarkerState } from './timeline.markers';

/**
 * Where the next page starts: the commit-safe (transaction, position) of the
 * last entry shown, the marker state so far, and the start of a workflow's
 * time window fixed at the first page (else `since=1h` would slide between
 * pages and drop entries). Opaque to clients: base64url of `tx:pos:marks:from`.
 */
export interface TimelineCursor {
  after: Cursor;
  markers: MarkerState;
  fromMs?: number;
}

const SHAPE = /^(\d{1,20}):(\d{1,20}):([0-3]):(\d{0,15})$/;

export function encodeTimelineCursor(c: TimelineCursor): string {
  const text = `${c.after.transactionId}:${c.after.globalPosition}:${encodeMarkers(c.markers)}:${c.fromMs ?? ''}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

export function decodeTimelineCursor(text: string, path = 'query.cursor'): TimelineCursor {
  const m = /^[A-Za-z0-9_-]+$/.test(text) ? SHAPE.exec(Buffer.from(text, 'base64url').toString('utf8')) : null;
  if (!m) {
    throw new ValidationError(`${path}: not a cursor this timeline handed out`, [
      { path, message: 'not a cursor this timeline handed out' },
    ]);
  }
  return {
    after: { transactionId: BigInt(m[1]!), globalPosition: BigInt(m[2]!) },
    markers: decodeMarkers(Number(m[3])),
    ...(m[4] !== '' && { fromMs: Number(m[4]) }),
  };
}
