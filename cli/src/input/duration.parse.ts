import { ValidationError } from '@steward/contracts';

// Only the single-unit forms the gateway also parses (30s, 5m, 1h, 30d):
// accepting "1h30m" here would just move the error to the server.
const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration like `30s`, `5m`, `1h`, `30d`; `flag` names the input in the error. */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount <= 0) {
    throw new ValidationError(`${flag} must be a duration like 30s, 5m, 1h or 30d; got '${text}'`, [
      { path: flag, message: `'${text}' is not a duration (NUMBER followed by s, m, h or d)` },
    ]);
  }
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** `4s`, `2m 5s`, `1h 3m`, `2d 4h`: two units are enough for a person to read. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const sign = ms < 0 ? '-' : '';
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${sign}${d}d ${h}h`;
  if (h > 0) return `${sign}${h}h ${m}m`;
  if (m > 0) return `${sign}${m}m ${s}s`;
  return `${sign}${s}s`;
}
