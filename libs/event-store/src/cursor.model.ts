/** A commit-safe read position: events are ordered by (transactionId, globalPosition). */
export interface Cursor {
  transactionId: bigint;
  globalPosition: bigint;
}

export const START: Cursor = Object.freeze({ transactionId: 0n, globalPosition: 0n });

export function compareCursors(a: Cursor, b: Cursor): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  if (a.globalPosition !== b.globalPosition) return a.globalPosition < b.globalPosition ? -1 : 1;
  return 0;
}

export function cursorOf(e: Cursor): Cursor {
  return { transactionId: e.transactionId, globalPosition: e.globalPosition };
}
