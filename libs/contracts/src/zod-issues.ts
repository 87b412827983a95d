import type { z } from 'zod';
import type { ValidationIssue } from './errors';

/** `['steps', 2, 'retry']` -> `steps[2].retry`, prefixed by `base` when given. */
export function formatPath(path: ReadonlyArray<PropertyKey>, base = ''): string {
  let out = base;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One issue per problem, each naming its field; an unknown field is named itself rather than its parent. */
export function issuesOf(error: z.ZodError, base = ''): ValidationIssue[] {
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: formatPath([...i.path, k], base), message: 'unknown field' }))
      : [{ path: formatPath(i.path, base), message: i.message }],
  );
}
