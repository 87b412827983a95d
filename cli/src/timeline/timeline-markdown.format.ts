import { formatDuration } from '../input/duration.parse';
import { MARKER_LABEL, type TimelineEntry, type TimelineMarker, type TimelineSubject } from './timeline.types';

export interface MarkdownOptions {
  /** When the export was made; an input so the renderer stays pure. */
  generatedAt: Date;
}

const SUBJECT_NAME: Record<TimelineSubject['kind'], string> = {
  run: 'run',
  correlation: 'correlation',
  workflow: 'workflow',
  alert: 'alert',
};

/** `2026-05-01 10:00:03` (UTC); postmortems quote whole seconds. */
function utc(time: string | Date): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) return String(time);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** Table cells: pipes would split the cell, newlines the row, stars would break the bold. */
function cell(text: unknown): string {
  if (text === undefined || text === null || text === '') return '';
  return String(text)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\*/g, '\\*')
    .replace(/\r?\n/g, ' ')
    .trim();
}

function strong(text: string): string {
  return text === '' ? '' : `**${text}**`;
}

function firstMarked(entries: readonly TimelineEntry[], marker: TimelineMarker): TimelineEntry | undefined {
  return entries.find((e) => e.marker === marker);
}

function between(from: TimelineEntry | undefined, to: TimelineEntry | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to.time) - Date.parse(from.time);
  return Number.isNaN(ms) ? undefined : ms;
}

function heading(subject: TimelineSubject): string {
  const since = subject.kind === 'workflow' && subject.since ? ` (last ${subject.since})` : '';
  return `# Timeline of ${SUBJECT_NAME[subject.kind]} \`${subject.id}\`${since}`;
}

/**
 * A postmortem-ready Markdown timeline: a header naming the subject, one
 * table row per event with the incident milestones in bold and labelled,
 * and a summary of time-to-detect / acknowledge / mitigate / resolve from
 * whichever markers exist. Pure: same input, same document.
 */
export function renderTimelineMarkdown(
  subject: TimelineSubject,
  entries: readonly TimelineEntry[],
  options: MarkdownOptions,
): string {
  const lines: string[] = [heading(subject), ''];
  const services = [...new Set(entries.map((e) => e.service).filter(Boolean))];
  if (entries.length === 0) {
    lines.push(`No events recorded. Exported ${utc(options.generatedAt)} UTC.`, '');
    return lines.join('\n');
  }
  const first = entries[0]!;
  const last = entries[entries.length - 1]!;
  lines.push(
    `${entries.length} event${entries.length === 1 ? '' : 's'} from ${utc(first.time)} to ${utc(last.time)} UTC` +
      ` across ${services.join(', ')}. Exported ${utc(options.generatedAt)} UTC.`,
    '',
    '## Timeline',
    '',
    '| time (UTC) | service | event | detail | actor |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const e of entries) {
    const label = e.marker ? (MARKER_LABEL[e.marker] ?? e.marker) : undefined;
    const detail = label ? `${label}${e.summary ? `: ${cell(e.summary)}` : ''}` : cell(e.summary);
    const row = [utc(e.time), cell(e.service), cell(e.type), detail, cell(e.actor)];
    lines.push(`| ${(label ? row.map(strong) : row).join(' | ')} |`);
  }
  lines.push('', ...summary(entries));
  return lines.join('\n');
}

function summary(entries: readonly TimelineEntry[]): string[] {
  const failure = firstMarked(entries, 'first_failure');
  const detection = firstMarked(entries, 'detection');
  const ack = firstMarked(entries, 'acknowledgement');
  const mitigation = firstMarked(entries, 'mitigation');
  const resolution = firstMarked(entries, 'resolution');
  const out = ['## Summary', ''];
  if (!failure && !detection && !ack && !mitigation && !resolution) {
    out.push('No incident milestones (first failure, detection, acknowledgement, mitigation, resolution) are marked in this timeline.', '');
    return out;
  }
  const milestone = (name: string, e: TimelineEntry | undefined): void => {
    if (e) out.push(`- **${name}:** ${utc(e.time)} UTC (${cell(e.type)}, ${cell(e.service)})`);
  };
  milestone('First failure', failure);
  milestone('Detected', detection);
  milestone('Acknowledged', ack);
  milestone('Mitigated', mitigation);
  milestone('Resolved', resolution);
  // Each measure names its start and end: teams define "time to resolve" differently.
  const measure = (name: string, ms: number | undefined, span: string): void => {
    if (ms !== undefined) out.push(`- **${name}:** ${formatDuration(ms)} (${span})`);
  };
  measure('Time to detect', between(failure, detection), 'first failure → detected');
  measure('Time to acknowledge', between(detection, ack), 'detected → acknowledged');
  measure('Time to mitigate', between(failure, mitigation), 'first failure → mitigation');
  measure('Time to resolve', between(failure ?? detection, resolution), `${failure ? 'first failure' : 'detected'} → resolved`);
  out.push('');
  return out;
}
