import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration } from './duration.parse';
import { parseExpression } from './expression.parse';

// Field schemas shared by the workflow, schedule and step schemas. Every
// message starts with "expected ...": the parser appends the offending value
// (`, got "three"`), so an error always says where, what and what was found.

export const SLUG = /^[a-z][a-z0-9_-]{0,62}$/;
const SLUG_TEXT = 'lowercase letters, digits, - and _, starting with a letter, at most 63';

export function slug(what: string) {
  const error = `expected ${what} (${SLUG_TEXT})`;
  return z.string({ error }).regex(SLUG, { error });
}

export function text(what: string, max = 500) {
  const error = `expected ${what} (non-empty text of at most ${max} characters)`;
  return z.string({ error }).trim().min(1, { error }).max(max, { error });
}

export function positiveInt(max = Number.MAX_SAFE_INTEGER) {
  const error = 'expected a positive integer';
  return z.number({ error }).int({ error }).positive({ error }).max(max, { error: `expected a positive integer of at most ${max}` });
}

export function fraction(what = 'a number from 0 to 1') {
  const error = `expected ${what}`;
  return z.number({ error }).min(0, { error }).max(1, { error });
}

const DURATION_TEXT = 'expected a duration such as 30s, 5m, 4h or 1d';

/** `"30s"` in the file, milliseconds after parsing. */
export const duration = z.string({ error: DURATION_TEXT }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: DURATION_TEXT, input: value });
    return z.NEVER;
  }
  if (ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: `${DURATION_TEXT}, at most 366d`, input: value });
    return z.NEVER;
  }
  return ms;
});

/** An expression in the safe language, checked for syntax at apply time; kept as source text. */
export const expression = z.string({ error: 'expected an expression' }).superRefine((source, ctx) => {
  try {
    parseExpression(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `cannot parse: ${err instanceof Error ? err.message : String(err)}` });
  }
});

/** Accepts `buffer-one` and `buffer_one`; stores the snake_case form. */
export function snakeEnum<const T extends readonly [string, ...string[]]>(values: T) {
  const error = `expected one of ${values.join(', ')}`;
  return z.preprocess((v) => (typeof v === 'string' ? v.replace(/-/g, '_') : v), z.enum(values, { error }));
}

export function isPlainRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Exactly one of `keys` must be present. Reported on the object itself so
 * the path says which step (or schedule) is ambiguous.
 */
export function exactlyOne(value: Record<string, unknown>, keys: readonly string[], ctx: z.RefinementCtx): string | undefined {
  const present = keys.filter((k) => value[k] !== undefined);
  if (present.length === 1) return present[0];
  ctx.addIssue({
    code: 'custom',
    message:
      present.length === 0
        ? `expected exactly one of ${keys.join(', ')}, got none`
        : `expected exactly one of ${keys.join(', ')}, got ${present.join(' and ')}`,
  });
  return undefined;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  record: 'a map',
  int: 'an integer',
};

/** Messages for the checks that carry none of their own, in the same "expected ..." voice. */
export function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return issue.origin === 'array' ? `expected at least ${issue.minimum} item(s)` : `expected at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' ? `expected at most ${issue.maximum} item(s)` : `expected at most ${issue.maximum}`;
    case 'invalid_format':
      return `expected ${issue.format === 'url' ? 'a URL' : `a valid ${issue.format}`}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    default:
      return undefined;
  }
}

export const PARSE_OPTIONS = { reportInput: true, error: fallbackMessage } as const;
