// Durations in workflow files are human strings ("30s", "5m", "1h30m");
// everything past parsing works in milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
/** A year: no timeout, delay or interval in Steward is meant to be longer, so more is a typo. */
export const MAX_DURATION_MS = 366 * UNIT_MS.d!;

/** `"30s"` -> 30000, `"1h30m"` -> 5400000; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.length > 40) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < trimmed.length) {
    const m = PART.exec(trimmed);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** 1800000 -> "30m", 5400000 -> "1h30m": the inverse of parseDuration for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/** `"10/min"` -> { count: 10, perMs: 60000 }: the collect rate limit. */
export function parseRate(text: string): { count: number; perMs: number } | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|sec|second|m|min|minute|h|hour|d|day)s?\s*$/.exec(text);
  if (!m) return undefined;
  const count = Number(m[1]);
  const multiple = m[2] === '' ? 1 : Number(m[2]);
  const unit: Record<string, number> = {
    ms: 1, s: 1_000, sec: 1_000, second: 1_000, m: 60_000, min: 60_000, minute: 60_000,
    h: 3_600_000, hour: 3_600_000, d: 86_400_000, day: 86_400_000,
  };
  const perMs = multiple * unit[m[3]!]!;
  return count > 0 && perMs > 0 ? { count, perMs } : undefined;
}
