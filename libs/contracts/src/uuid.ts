import { randomBytes, randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KiB at a time: one syscall-backed fill per 256
// ids instead of two per id (it showed up in the append and publish profiles).
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

function random16(): Buffer {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const out = Buffer.from(POOL.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return out;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let lastMs = 0;
let seq = 0;

/**
 * RFC 9562 UUIDv7: 48-bit unix ms, then a 12-bit counter (rand_a) so ids made
 * in the same millisecond by this process still sort in creation order.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs += 1; // counter wrapped: borrow the next millisecond
    now = lastMs;
  } else {
    lastMs = now;
    seq = randomBytes(2).readUInt16BE(0) & 0x3ff; // leave headroom for increments
  }
  const b = random16();
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isUuidV7(value: string): boolean {
  return UUID_V7.test(value);
}

/** Milliseconds since the epoch encoded in a UUIDv7. */
export function uuidv7Time(value: string): number {
  return parseInt(value.replace(/-/g, '').slice(0, 12), 16);
}
