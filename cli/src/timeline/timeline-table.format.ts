import { bold, formatTable, formatTime, type Column } from '../output/table.format';
import { markerLabel, type TimelineEntry } from './timeline.types';

export interface TreeRow {
  entry: TimelineEntry;
  /** Tree glyphs drawn before the event type (`├─ `, `│  └─ `). */
  prefix: string;
  depth: number;
}

/**
 * Orders entries as a causation forest: each event directly under the event
 * that caused it when that parent is in the listing, siblings in listing
 * order. A parent must come earlier in the listing (it always does in a
 * position-ordered log), which also makes cycles impossible.
 */
export function causationTree(entries: readonly TimelineEntry[]): TreeRow[] {
  const index = new Map<string, number>();
  entries.forEach((e, i) => {
    if (!index.has(e.id)) index.set(e.id, i);
  });
  const children = new Map<number, number[]>();
  const roots: number[] = [];
  entries.forEach((e, i) => {
    const parent = e.causationId ? index.get(e.causationId) : undefined;
    if (parent !== undefined && parent < i) {
      const list = children.get(parent) ?? [];
      list.push(i);
      children.set(parent, list);
    } else roots.push(i);
  });

  const rows: TreeRow[] = [];
  // Explicit stack rather than recursion: a long retry chain is a deep tree.
  const stack: Array<{ i: number; lead: string; glyph: string; depth: number }> = roots
    .map((i) => ({ i, lead: '', glyph: '', depth: 0 }))
    .reverse();
  while (stack.length > 0) {
    const { i, lead, glyph, depth } = stack.pop()!;
    rows.push({ entry: entries[i]!, prefix: lead + glyph, depth });
    const kids = children.get(i) ?? [];
    const childLead = depth === 0 ? '' : lead + (glyph === '└─ ' ? '   ' : '│  ');
    for (let k = kids.length - 1; k >= 0; k--) {
      stack.push({ i: kids[k]!, lead: childLead, glyph: k === kids.length - 1 ? '└─ ' : '├─ ', depth: depth + 1 });
    }
  }
  return rows;
}

function summaryOf(entry: TimelineEntry): string {
  const label = markerLabel(entry.marker);
  const summary = entry.summary ?? '';
  return label ? `[${label}] ${summary}`.trimEnd() : summary;
}

/** The people's timeline: time, service, event (indented by causation), summary, actor. */
export function formatTimelineTable(entries: readonly TimelineEntry[], options: { color: boolean }): string {
  const columns: Column<TreeRow>[] = [
    { header: 'time (utc)', value: (r) => formatTime(r.entry.time, true) },
    { header: 'service', value: (r) => r.entry.service },
    { header: 'event', value: (r) => `${r.prefix}${r.entry.type}`, max: 72 },
    {
      header: 'summary',
      value: (r) => summaryOf(r.entry),
      max: 80,
      style: (text, r) => (r.entry.marker ? bold(text, true) : text),
    },
    { header: 'actor', value: (r) => r.entry.actor },
  ];
  return formatTable(columns, causationTree(entries), options);
}

/**
 * One streamed entry (`--follow`): widths cannot be known in advance, so
 * columns are fixed; an entry caused by one already shown is indented under it.
 */
export class FollowFormatter {
  private readonly depth = new Map<string, number>();

  constructor(private readonly color: boolean) {}

  /** Entries printed before following started, so their children indent under them. */
  seed(rows: readonly TreeRow[]): void {
    for (const row of rows) this.depth.set(row.entry.id, row.depth);
  }

  line(entry: TimelineEntry): string {
    const parent = entry.causationId ? this.depth.get(entry.causationId) : undefined;
    const depth = parent === undefined ? 0 : parent + 1;
    this.depth.set(entry.id, depth);
    const event = depth === 0 ? entry.type : `${'   '.repeat(depth - 1)}└─ ${entry.type}`;
    const summary = summaryOf(entry);
    const cells = [
      formatTime(entry.time, true).padEnd(23),
      (entry.service ?? '-').padEnd(12),
      event.padEnd(32),
      entry.marker ? bold(summary || '-', this.color) : summary || '-',
      entry.actor ?? '-',
    ];
    return cells.join('  ');
  }
}
