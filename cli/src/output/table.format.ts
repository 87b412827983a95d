/** Aligned plain-text tables for people; colour only when the caller says the terminal wants it. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  align?: 'left' | 'right';
  /** Longest cell before it is cut with an ellipsis; wide free text would wrap every row otherwise. */
  max?: number;
  /** Colours a cell after padding, so escape codes never disturb alignment. */
  style?: (text: string, row: T) => string;
}

export interface TableOptions {
  color: boolean;
}

const GAP = '  ';
const DEFAULT_MAX = 60;

/** Text for one cell: absent values show as '-', objects as compact JSON. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value.replace(/\s*\n\s*/g, ' ');
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.map(cellText).join(', ');
  return JSON.stringify(value);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

export function bold(text: string, color: boolean): string {
  return color ? `\u001b[1m${text}\u001b[22m` : text;
}

const GREEN = /^(succeeded|success|completed|complete|ok|active|resolved|approved|healthy|passed|yes)$/i;
const RED = /^(fail|failed|failure|error|cancelled|canceled|firing|rejected|dead|dead_lettered|discarded|timed_out|no)$/i;
const YELLOW = /^(running|pending|paused|acknowledged|waiting|queued|started|silenced|warning|requeued)$/i;

/** Status words in green, red or yellow; anything else unchanged. */
export function statusColor(text: string, color: boolean): string {
  if (!color) return text;
  const word = text.trim();
  if (GREEN.test(word)) return `\u001b[32m${text}\u001b[39m`;
  if (RED.test(word)) return `\u001b[31m${text}\u001b[39m`;
  if (YELLOW.test(word)) return `\u001b[33m${text}\u001b[39m`;
  return text;
}

/**
 * A column header as the table prints it: camelCase split into words, ASCII
 * letters upper-cased and nothing else (`µ$/row` keeps its micro sign, which
 * toUpperCase turns into a Greek capital Mu).
 */
export function headerText(header: string): string {
  return header.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[a-z]+/g, (s) => s.toUpperCase());
}

export function formatTable<T>(columns: Column<T>[], rows: readonly T[], options: TableOptions): string {
  const cells = rows.map((row) => columns.map((c) => truncate(cellText(c.value(row)), c.max ?? DEFAULT_MAX)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const last = columns.length - 1;
  const pad = (text: string, i: number): string => {
    // The last left-aligned column is not padded: trailing blanks only get in the way of copy and diff.
    if (i === last && columns[i]!.align !== 'right') return text;
    return columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  };
  const header = columns.map((c, i) => bold(pad(headerText(c.header), i), options.color)).join(GAP);
  const lines = cells.map((r, rowIndex) =>
    r
      .map((text, i) => {
        const padded = pad(text, i);
        const style = columns[i]!.style;
        return options.color && style ? style(padded, rows[rowIndex]!) : padded;
      })
      .join(GAP),
  );
  return [header, ...lines].join('\n');
}

/** `YYYY-MM-DD HH:MM:SSZ` in UTC: operators compare times across services and machines. */
export function formatTime(value: unknown, precise = false): string {
  if (typeof value !== 'string' && typeof value !== 'number') return cellText(value);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const iso = date.toISOString();
  return precise ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}
