/** Keys whose values are never logged, whatever their nesting. */
const SECRET_KEY = /(pass(word)?|secret|token|authori[sz]ation|api[-_]?key|cookie|credential|private[-_]?key|signature)/i;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)(@)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;

export const REDACTED = '[REDACTED]';

/** Masks credentials inside free text: `postgres://u:pw@h` and `Bearer abc`. */
export function redactString(value: string): string {
  return value.replace(URL_CREDENTIALS, `$1${REDACTED}$3`).replace(BEARER, `$1 ${REDACTED}`);
}

/** Deep copy with secret-looking keys masked and credentials in strings removed. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return serializeError(value, depth);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

function serializeError(err: Error, depth: number): Record<string, unknown> {
  const e = err as Error & { code?: unknown; context?: unknown; cause?: unknown };
  return {
    type: err.name,
    message: redactString(err.message),
    ...(e.code !== undefined && { code: e.code }),
    ...(e.context !== undefined && { context: redact(e.context, depth + 1) }),
    ...(err.stack !== undefined && { stack: redactString(err.stack) }),
    ...(e.cause !== undefined && { cause: redact(e.cause, depth + 1) }),
  };
}
