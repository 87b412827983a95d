import type { z } from 'zod';
import { ValidationError, formatPath, type ValidationIssue } from '@steward/contracts';

export type InputPart = 'params' | 'query' | 'body';

/**
 * Validates one part of a request. Every issue names its field from the
 * request's point of view (`query.since`, `body.matchers[0].name`), and the
 * message repeats them so a client that prints only the message still says
 * what to fix.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: InputPart): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issues: ValidationIssue[] = [];
  for (const i of result.error.issues) {
    if (i.code === 'unrecognized_keys') {
      for (const key of i.keys) issues.push({ path: formatPath([...i.path, key], part), message: 'unknown field' });
    } else {
      issues.push({ path: formatPath(i.path, part), message: i.message });
    }
  }
  throw new ValidationError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}
