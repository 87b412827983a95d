import { Option, type Command } from 'commander';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { parseDuration } from '../input/duration.parse';
import { exactlyOne, parsePositiveNumber, readInputFile } from '../input/input.parse';
import { ValidationError } from '@steward/contracts';
import { formatDetail } from '../output/detail.format';
import { formatTable, type Column } from '../output/table.format';

const usd = (v: unknown): string => (typeof v === 'number' ? `$${v.toFixed(2)}` : v === undefined || v === null ? '-' : String(v));
const pct = (v: unknown): string => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '-');

const reportColumns: Column<Row>[] = [
  { header: 'key', value: (r) => r.key ?? r.name ?? r.id },
  { header: 'cost', value: (r) => usd(r.usd ?? r.costUsd), align: 'right' },
  { header: 'runs', value: (r) => r.runs, align: 'right' },
  { header: 'per run', value: (r) => usd(r.usdPerRun), align: 'right' },
  { header: 'budget', value: (r) => usd(r.budgetUsd), align: 'right' },
  { header: 'used', value: (r) => pct(r.budgetUsed), align: 'right' },
];

const budgetColumns: Column<Row>[] = [
  { header: 'scope', value: (r) => r.scope },
  { header: 'id', value: (r) => r.id },
  { header: 'monthly', value: (r) => usd(r.monthlyUsd), align: 'right' },
  { header: 'spent', value: (r) => usd(r.spentUsd), align: 'right' },
  { header: 'used', value: (r) => pct(typeof r.spentUsd === 'number' && typeof r.monthlyUsd === 'number' && r.monthlyUsd > 0 ? r.spentUsd / r.monthlyUsd : undefined), align: 'right' },
  { header: 'thresholds', value: (r) => (Array.isArray(r.thresholds) ? r.thresholds.map(pct).join(' ') : '-') },
];

function parseThresholds(text: string): number[] {
  const values = text.split(',').map((t) => Number(t.trim().replace(/%$/, '')) / (t.trim().endsWith('%') ? 100 : 1));
  if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new ValidationError(`--thresholds must be fractions or percentages like 0.5,0.8,1 or 50%,80%,100%; got '${text}'`, [
      { path: '--thresholds', message: 'not a list of numbers' },
    ]);
  }
  return values;
}

export function registerCostCommands(program: Command, action: ActionFactory): void {
  const costs = program.command('costs').description('what runs cost: reports, budgets and prices');

  costs
    .command('report')
    .description('cost report grouped by workflow, owner, service or step')
    .addOption(new Option('--by <group>', 'group costs by').choices(['workflow', 'owner', 'service', 'step']).makeOptionMandatory())
    .option('--since <duration>', 'how far back (e.g. 7d, 30d)', '30d')
    .action(
      action<{ by: string; since: string }>(async (ctx, _args, opts) => {
        parseDuration(opts.since, '--since');
        await ctx.show<Row>('/costs/report', { by: opts.by, since: opts.since }, (report) => {
          const rows = (report.items ?? report.rows) as Row[] | undefined;
          const { items: _i, rows: _r, ...rest } = report;
          if (Array.isArray(rows)) {
            ctx.out.line(rows.length === 0 ? 'no costs recorded' : formatTable(reportColumns, rows, { color: ctx.out.color }));
            const total = rest.totalUsd ?? rest.total;
            if (total !== undefined) ctx.out.line(`\ntotal ${usd(total)} by ${opts.by} over ${opts.since}`);
          } else ctx.out.line(formatDetail(report, { color: ctx.out.color }));
        });
      }),
    );

  const budgets = costs.command('budgets').description('monthly budgets per workflow or owner');
  paged(budgets.command('list').description('list budgets and what has been spent this month')).action(
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
    .option('--thresholds <list>', 'alert at these fractions of the budget (e.g. 0.5,0.8,1)')
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

  const prices = costs.command('prices').description('unit prices used to cost runs');
  prices
    .command('apply')
    .description('create or update prices from a YAML file')
    .requiredOption('-f, --file <file>', 'prices YAML file')
    .action(
      action<{ file: string }>(async (ctx, _args, opts) => {
        const yaml = await readInputFile(opts.file, ctx.io.cwd, '-f');
        await ctx.send<Row>('POST', '/prices', { yaml, file: opts.file }, {
          service: 'cost-tracker',
          done: () => ctx.out.line(`prices from ${opts.file} applied`),
        });
      }),
    );
  paged(prices.command('list').description('list prices')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      const columns: Column<Row>[] = [
        { header: 'resource', value: (r) => r.resource ?? r.name ?? r.id },
        { header: 'unit', value: (r) => r.unit },
        { header: 'price', value: (r) => (typeof r.usd === 'number' ? `$${r.usd}` : (r.usd ?? r.price)), align: 'right' },
        { header: 'since', value: (r) => r.effectiveFrom ?? r.since },
      ];
      ctx.printList(await ctx.list<Row>('/prices', {}, opts), columns, 'no prices', opts);
    }),
  );
}
