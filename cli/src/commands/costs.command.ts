import { Option, type Command } from 'commander';
import { idPath, paged, type ActionFactory, type CommandContext, type PageOptions, type Row } from '../command.context';
import { parseDuration } from '../input/duration.parse';
import { exactlyOne, parsePositiveNumber, readInputFile } from '../input/input.parse';
import { ValidationError } from '@steward/contracts';
import { formatDetail } from '../output/detail.format';
import { formatTable, formatTime, type Column } from '../output/table.format';

/**
 * Money as the gateway sends it: exact decimal strings ("1.734568"), shown as
 * they are; plain numbers (older gateways) to the cent.
 */
const usd = (v: unknown): string => (typeof v === 'number' ? `$${v.toFixed(2)}` : typeof v === 'string' && v !== '' ? `$${v}` : '-');
const pct = (v: unknown): string => (typeof v === 'number' ? `${Math.round(v * 1000) / 10}%` : '-');

const reportColumns: Column<Row>[] = [
  { header: 'key', value: (r) => r.key ?? r.name ?? r.id },
  { header: 'cost', value: (r) => usd(r.usd ?? r.costUsd), align: 'right' },
  { header: 'runs', value: (r) => r.runs, align: 'right' },
  { header: 'per run', value: (r) => usd(r.usdPerRun), align: 'right' },
  { header: 'budget', value: (r) => usd(r.budgetUsd), align: 'right' },
  { header: 'used', value: (r) => pct(r.budgetUsed), align: 'right' },
];

const performanceColumns: Column<Row>[] = [
  { header: 'workflow', value: (r) => r.workflow },
  { header: 'week', value: (r) => r.week },
  { header: 'cost', value: (r) => usd(r.usd), align: 'right' },
  { header: 'per success', value: (r) => usd(r.usdPerSuccessfulRun), align: 'right' },
  { header: 'µ$/row', value: (r) => r.microsPerRow ?? '-', align: 'right' },
  { header: 'success', value: (r) => pct(r.successRate), align: 'right' },
  { header: 'p50', value: (r) => (typeof r.p50DurationMs === 'number' ? `${Math.round(r.p50DurationMs)}ms` : '-'), align: 'right' },
];

const budgetColumns: Column<Row>[] = [
  { header: 'scope', value: (r) => r.scope },
  { header: 'id', value: (r) => r.id },
  { header: 'monthly', value: (r) => usd(r.monthlyUsd), align: 'right' },
  { header: 'spent', value: (r) => usd(r.spentUsd), align: 'right' },
  {
    header: 'forecast',
    value: (r) => {
      const f = r.forecast as Row | undefined;
      return f === undefined ? '-' : `${usd(f.usd)} (${usd(f.lowUsd)}..${usd(f.highUsd)})`;
    },
    align: 'right',
  },
  {
    header: 'thresholds',
    value: (r) =>
      Array.isArray(r.thresholds)
        ? (r.thresholds as Row[])
            .map((t) => (typeof t === 'number' ? pct(t) : `${String(t.kind)} ${t.percent !== undefined ? `${String(t.percent)}%` : usd(t.amountUsd)}${t.state === 'ALARM' ? ' ALARM' : ''}`))
            .join(', ')
        : '-',
  },
];

const CSV_FIELDS = ['key', 'usd', 'costMicros', 'runs', 'records', 'usdPerRun', 'budgetUsd', 'budgetUsed'] as const;

function csvCell(v: unknown): string {
  const text = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function parseThresholds(text: string): number[] {
  const values = text.split(',').map((t) => Number(t.trim().replace(/%$/, '')) / (t.trim().endsWith('%') ? 100 : 1));
  if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new ValidationError(`--thresholds must be fractions or percentages like 0.5,0.8,1 or 50%,80%,100%; got '${text}'`, [
      { path: '--thresholds', message: 'not a list of numbers' },
    ]);
  }
  return values;
}

function printReport(ctx: CommandContext, report: Row, by: string, since: string, format: string): void {
  const rows = (report.items ?? report.rows) as Row[] | undefined;
  if (!Array.isArray(rows)) {
    ctx.out.line(formatDetail(report, { color: ctx.out.color }));
    return;
  }
  if (format === 'csv') {
    ctx.out.line(CSV_FIELDS.join(','));
    for (const r of rows) ctx.out.line(CSV_FIELDS.map((f) => csvCell(r[f])).join(','));
    return;
  }
  ctx.out.line(rows.length === 0 ? 'no costs recorded' : formatTable(reportColumns, rows, { color: ctx.out.color }));
  const total = report.totalUsd ?? report.total;
  if (total !== undefined) ctx.out.line(`\ntotal ${usd(total)} by ${by} over ${since}`);
  const performance = report.performance as Row[] | undefined;
  if (Array.isArray(performance) && performance.length > 0) {
    ctx.out.line('\ncost against performance by ISO week');
    ctx.out.line(formatTable(performanceColumns, performance, { color: ctx.out.color }));
  }
}

/** `list` and `set`, mounted under `costs budgets` and as the top-level `budgets`. */
function registerBudgetCommands(budgets: Command, action: ActionFactory): void {
  paged(budgets.command('list').description('list budgets, this month’s spend, the month-end forecast with its range, and thresholds')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/budgets', {}, opts), budgetColumns, 'no budgets', opts);
    }),
  );
  budgets
    .command('set')
    .description('set the monthly budget of a workflow or an owner')
    .option('--workflow <id>', 'budget of this workflow')
    .option('--owner <team>', 'budget of everything this owner owns')
    .requiredOption('--monthly-usd <amount>', 'monthly budget in USD')
    .option('--thresholds <list>', 'alert when actual spend reaches these fractions of the budget (e.g. 0.5,0.8,1); the month-end forecast is checked at 100 %')
    .addHelpText('after', '\nGive exactly one of --workflow and --owner.\n\nExample:\n  steward costs budgets set --workflow supplier-prices --monthly-usd 40')
    .action(
      action<{ workflow?: string; owner?: string; monthlyUsd: string; thresholds?: string }>(async (ctx, _args, opts) => {
        const scope = exactlyOne({ workflow: opts.workflow, owner: opts.owner }, { workflow: '--workflow', owner: '--owner' });
        const id = scope === 'workflow' ? opts.workflow! : opts.owner!;
        const monthlyUsd = parsePositiveNumber(opts.monthlyUsd, '--monthly-usd');
        const thresholds = opts.thresholds === undefined ? undefined : parseThresholds(opts.thresholds);
        await ctx.send('PUT', `/budgets${idPath(scope, id)}`, { monthlyUsd, thresholds }, {
          service: 'cost-tracker',
          done: () => ctx.out.line(`budget of ${scope} ${id} set to ${usd(monthlyUsd)} a month`),
        });
      }),
    );
}

export function registerCostCommands(program: Command, action: ActionFactory): void {
  const costs = program.command('costs').description('what runs cost: reports, budgets and prices');

  costs
    .command('report')
    .description('cost report grouped by workflow, owner, service or step (with weekly cost against performance by workflow)')
    .addOption(new Option('--by <group>', 'group costs by').choices(['workflow', 'owner', 'service', 'step']).makeOptionMandatory())
    .option('--since <duration>', 'how far back (e.g. 7d, 30d)', '30d')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .action(
      action<{ by: string; since: string; format: string }>(async (ctx, _args, opts) => {
        parseDuration(opts.since, '--since');
        const query = { by: opts.by, since: opts.since };
        if (opts.format === 'json' && !ctx.out.json) {
          ctx.out.printJson(await ctx.get<Row>('/costs/report', query));
          return;
        }
        await ctx.show<Row>('/costs/report', query, (report) => printReport(ctx, report, opts.by, opts.since, opts.format));
      }),
    );

  registerBudgetCommands(costs.command('budgets').description('monthly budgets per workflow or owner'), action);
  registerBudgetCommands(program.command('budgets').description('monthly budgets per workflow or owner (same as costs budgets)'), action);

  const prices = costs.command('prices').description('unit prices used to cost usage');
  prices
    .command('apply')
    .description('create or update prices from a YAML file')
    .requiredOption('-f, --file <file>', 'prices YAML file')
    .addHelpText('after', '\nFile format:\n  prices:\n    - match: cpu-seconds            # resource name or glob (* = anything)\n      usd: 0.00004                  # USD per unit, exact decimal\n      from: 2026-12-01              # or a datetime with offset\n    - match: "api:openai:gpt-*:tokens"\n      usd: 0.0000015\n      from: 2026-12-15T00:00:00Z')
    .action(
      action<{ file: string }>(async (ctx, _args, opts) => {
        const yaml = await readInputFile(opts.file, ctx.io.cwd, '-f');
        await ctx.send<Row>('POST', '/prices', { yaml, file: opts.file }, {
          service: 'cost-tracker',
          done: () => ctx.out.line(`prices from ${opts.file} applied`),
        });
      }),
    );
  paged(prices.command('list').description('list prices and when each takes effect')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      const columns: Column<Row>[] = [
        { header: 'match', value: (r) => r.match ?? r.resource ?? r.name ?? r.id },
        { header: 'unit', value: (r) => r.unit ?? '-' },
        { header: 'usd per unit', value: (r) => (typeof r.usd === 'number' ? `$${r.usd}` : typeof r.usd === 'string' ? `$${r.usd}` : r.price), align: 'right' },
        { header: 'from', value: (r) => formatTime(r.effectiveFrom ?? r.since) },
      ];
      ctx.printList(await ctx.list<Row>('/prices', {}, opts), columns, 'no prices', opts);
    }),
  );
}
