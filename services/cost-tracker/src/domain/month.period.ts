// Calendar months and days in an IANA time zone, computed with Intl only
// (no date library): budgets reset at local midnight on the 1st.

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function localParts(at: Date, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

// Every zone's offset is a multiple of 15 minutes and changes on a quarter
// hour, so the local day of an instant is that of its quarter-hour bucket:
// cached, because Intl formatting dominates costing a record otherwise.
const QUARTER_HOUR_MS = 900_000;
const dayCache = new Map<string, string>();

/** `YYYY-MM-DD` of the instant in the zone. */
export function localDayOf(at: Date, timeZone: string): string {
  const key = `${timeZone}|${Math.floor(at.getTime() / QUARTER_HOUR_MS)}`;
  let day = dayCache.get(key);
  if (day === undefined) {
    const p = localParts(at, timeZone);
    day = `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
    if (dayCache.size > 10_000) dayCache.clear();
    dayCache.set(key, day);
  }
  return day;
}

/** `YYYY-MM` of the instant in the zone. */
export function periodOf(at: Date, timeZone: string): string {
  return localDayOf(at, timeZone).slice(0, 7);
}

/** The UTC instant of local midnight starting `year-month-day` in the zone (DST-safe: two refinements). */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const target = Date.UTC(year, month - 1, day);
  let guess = target;
  for (let i = 0; i < 3; i++) {
    const p = localParts(new Date(guess), timeZone);
    const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    const diff = local - target;
    if (diff === 0) break;
    guess -= diff;
  }
  return new Date(guess);
}

export interface MonthBounds {
  period: string;
  start: Date;
  end: Date;
  /** Calendar days in the month. */
  days: number;
}

export function monthBounds(period: string, timeZone: string): MonthBounds {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  if (!m) throw new Error(`period "${period}" is not YYYY-MM`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const next = month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
  return {
    period,
    start: zonedMidnight(year, month, 1, timeZone),
    end: zonedMidnight(next.year, next.month, 1, timeZone),
    days: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

/** ISO week `YYYY-Www` of a UTC instant (weeks start Monday). */
export function isoWeekOf(at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${pad(week)}`;
}
