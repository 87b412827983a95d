import type { z } from 'zod';
import { ValidationError, issuesOf } from '@steward/contracts';

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
  const issues = issuesOf(result.error, part);
  throw new ValidationError(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}
