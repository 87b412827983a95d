// Helpers shared by the example handlers: deterministic pseudo-random data
// (so a retried attempt sees the same numbers) and the local data folder.
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');

/** A seeded generator (mulberry32): same seed, same sequence, on every attempt and machine. */
function seeded(seed) {
  let a = createHash('sha256').update(String(seed)).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where examples keep their files: EXAMPLES_DATA_DIR from the environment profile, else ./.data/examples. */
function dataDir(ctx, ...parts) {
  const dir = join(ctx.env.EXAMPLES_DATA_DIR || join(process.cwd(), '.data', 'examples'), ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A failure the retry policy reads: `code` and `retryable`, no SDK import needed. */
function taskError(code, message, retryable) {
  return Object.assign(new Error(message), { code, retryable });
}

module.exports = { seeded, dataDir, taskError };
