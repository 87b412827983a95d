import type { Command } from 'commander';
import type { ActionFactory, CommandContext, Row } from '../command.context';
import { formatDuration, parseDuration } from '../input/duration.parse';
import { formatDetail } from '../output/detail.format';
import { bold, formatTable, type Column } from '../output/table.format';

const TITLES: Record<string, string> = {
  uptime: 'Uptime per service',
  mttd: 'MTTD (mean time to detect)',
  mtta: 'MTTA (mean time to acknowledge)',
  mttr: 'MTTR (mean time to resolve)',
  successRate: 'Success rate',
  alertFatigue: 'Alert fatigue',
  incidentsBySeverity: 'Incidents by severity',
  capacity: 'Capacity',
  spend: 'Spend',
};

/** Ratios as percentages, millisecond figures as durations and rates to two decimals, so the report reads without arithmetic. */
function humanise(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => humanise(v));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, humanise(v, k)]));
  if (typeof value !== 'number') return value;
  if (/(^ratio$|Ratio$|Utilisation$)/.test(key)) return `${Math.round(value * 1000) / 10}%`;
  if (/(^ms$|Ms$)/.test(key)) return formatDuration(Math.round(value));
  // A per-day average came out as 0.23333333333333334.
  if (!Number.isInteger(value)) return Math.round(value * 100) / 100;
  return value;
}

// Response metadata, not sections.
const META = new Set(['missing', 'since', 'generatedAt', 'from', 'to', 'title']);

function title(key: string): string {
  return TITLES[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/** Sections are either a `sections: [{title, ...}]` list or the top-level keys; both render the same. */
function sectionsOf(report: Row): Array<[string, unknown]> {
  if (Array.isArray(report.sections)) {
    return (report.sections as Row[]).map((s) => {
      const { title: t, name, ...rest } = s;
      return [String(t ?? name ?? 'Section'), rest];
    });
  }
  return Object.entries(report)
    .filter(([k]) => !META.has(k))
    .map(([k, v]) => [title(k), v]);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A section keyed by name whose entries are flat records of the same kind
 * (uptime per service, capacity per queue) reads best as a table, one row a key.
 */
function asTable(body: unknown, color: boolean): string | undefined {
  if (!isRecord(body)) return undefined;
  const entries = Object.entries(body);
  if (entries.length === 0 || !entries.every(([, v]) => isRecord(v) && Object.values(v).every((x) => !isRecord(x) && !Array.isArray(x)))) return undefined;
  const keys = [...new Set(entries.flatMap(([, v]) => Object.keys(v as Row)))];
  const columns: Column<[string, Row]>[] = [
    { header: 'name', value: ([k]) => k },
    ...keys.map((k): Column<[string, Row]> => ({ header: k, value: ([, v]) => v[k], align: typeof (entries[0]![1] as Row)[k] === 'number' ? 'right' : 'left' })),
  ];
  return formatTable(columns, entries as Array<[string, Row]>, { color })
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function printOps(ctx: CommandContext, report: Row, since: string): void {
  const { out } = ctx;
  out.line(bold(`Operations report, last ${String(report.since ?? since)}`, out.color));
  for (const [heading, body] of sectionsOf(report)) {
    out.line('');
    out.line(bold(heading, out.color));
    const human = humanise(body);
    const empty = (Array.isArray(human) && human.length === 0) || (isRecord(human) && Object.keys(human).length === 0);
    out.line(empty ? '  none' : (asTable(human, out.color) ?? formatDetail(human, { color: out.color, indent: '  ' })));
  }
  const missing = Array.isArray(report.missing) ? (report.missing as Row[]) : [];
  if (missing.length > 0) {
    out.line('');
    out.line(bold('Missing from this report', out.color));
    for (const m of missing) {
      const why = typeof m.reason === 'string' ? ` (${m.reason})` : ', which is not running';
      out.line(`  ${title(String(m.part))}: needs the ${String(m.service)} service${why}`);
    }
  }
}

export function registerReportCommands(program: Command, action: ActionFactory): void {
  const reports = program.command('reports').description('reports for operators');
  reports
    .command('ops')
    .description('uptime, success rate, MTTD, MTTA, MTTR, alert fatigue, incidents by severity, spend and capacity; says which parts are missing and why')
    .option('--since <duration>', 'how far back (e.g. 7d, 30d)', '30d')
    .action(
      action<{ since: string }>(async (ctx, _args, opts) => {
        parseDuration(opts.since, '--since');
        await ctx.show<Row>('/reports/ops', { since: opts.since }, (r) => printOps(ctx, r, opts.since));
      }),
    );
}
