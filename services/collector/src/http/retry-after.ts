/**
 * Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date. Returns the
 * delay in ms from `now` (0 for a date in the past), or undefined when the
 * header is absent or unreadable: a malformed header must not turn into
 * "retry at once".
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // HTTP-date: IMF-fixdate (or the obsolete forms Date.parse also reads); requires a weekday-or-day and a GMT zone.
  if (!/GMT$/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
