import { createHash } from 'node:crypto';
import type { WorkflowDefinition } from './workflow.schema';

/**
 * JSON with object keys sorted at every level, so two definitions that mean
 * the same thing serialise the same whatever the key order in the file.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * SHA-256 (hex) of the normalised definition: comments, formatting, key order
 * and spelled-out defaults do not change it, so re-applying an unchanged file
 * is a no-op and any change of meaning is a new version.
 */
export function hashWorkflow(definition: WorkflowDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}
