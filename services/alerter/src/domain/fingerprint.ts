import { createHash } from 'node:crypto';

export type Labels = Record<string, string>;

/**
 * An alert's identity: sha-256 over its identifying labels in sorted order,
 * so the same condition on the same thing is the same alert no matter how
 * the labels were built. Keys and values are length-prefixed: `a=b,c` and
 * `a=b` + `c=...` can never collide.
 */
export function fingerprint(labels: Labels): string {
  let canonical = '';
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key]!;
    canonical += `${key.length}:${key}${value.length}:${value}`;
  }
  let fp = recent.get(canonical);
  if (fp === undefined) {
    fp = createHash('sha256').update(canonical).digest('hex');
    // Every evaluation fingerprints every condition of its scope again: a bounded memo saves the hashing.
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(canonical, fp);
  }
  return fp;
}

const RECENT_MAX = 50_000;
const recent = new Map<string, string>();

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
