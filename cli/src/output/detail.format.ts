import { bold, cellText, formatTable, formatTime, statusColor, type Column } from './table.format';

/**
 * Renders any JSON object for a person: scalar fields as aligned
 * `key: value` lines (nested objects flattened to dotted keys), lists of
 * objects as tables under a heading. Used where the gateway's response has
 * no fixed shape the CLI should depend on (show, diff, report sections).
 */
export function formatDetail(value: unknown, options: { color: boolean; indent?: string }): string {
  const indent = options.indent ?? '';
  if (typeof value !== 'object' || value === null) return `${indent}${cellText(value)}`;
  if (Array.isArray(value)) return indentLines(formatList(value, options.color), indent);

  const pairs: Array<[string, string]> = [];
  const tables: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [key, v] of Object.entries(obj)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (Array.isArray(v) && v.some((item) => typeof item === 'object' && item !== null)) {
        tables.push(`${bold(name, options.color)} (${v.length})\n${indentLines(formatList(v, options.color), '  ')}`);
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
        walk(v as Record<string, unknown>, name);
      } else {
        pairs.push([name, /At$/.test(key) && typeof v === 'string' ? formatTime(v) : cellText(v)]);
      }
    }
  };
  walk(value as Record<string, unknown>, '');
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  const lines = pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${key(k) ? statusColor(v, options.color) : v}`);
  const blocks = lines.length > 0 ? [lines.join('\n'), ...tables] : tables;
  return indentLines(blocks.join('\n\n'), indent);
}

function key(name: string): boolean {
  return /(^|\.)(status|state|ok|result)$/.test(name);
}

/** A list of objects as a table over the union of their scalar-ish keys (first 8, in first-seen order). */
export function formatList(items: readonly unknown[], color: boolean): string {
  if (items.length === 0) return '(none)';
  if (items.every((i) => typeof i !== 'object' || i === null)) return items.map(cellText).join('\n');
  const keys: string[] = [];
  for (const item of items) {
    for (const k of Object.keys((item ?? {}) as object)) if (!keys.includes(k)) keys.push(k);
  }
  const columns: Column<Record<string, unknown>>[] = keys.slice(0, 8).map((k) => ({
    header: k,
    value: (row) => row[k],
    max: 48,
    style: key(k) ? (text) => statusColor(text, color) : undefined,
  }));
  return formatTable(columns, items as Record<string, unknown>[], { color });
}

function indentLines(text: string, indent: string): string {
  return indent ? text.replace(/^(?=.)/gm, indent) : text;
}
