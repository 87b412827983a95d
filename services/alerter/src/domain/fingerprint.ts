import { createHash } from 'node:crypto';

export type Labels = Record<string, string>;

/**
 * An alert's identity: sha-256 over its identifying labels in sorted order,
 * so the same condition on the same thing is the same alert no matter how
 * the labels were built. Keys and values are length-prefixed: `a=b,c` and
 * `a=b` + `c=...` can never collide.
 */
export function fingerprint(labels: Labels): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key]!;
    hash.update(`${key.length}:${key}${value.length}:${value}`);
  }
  return hash.digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
