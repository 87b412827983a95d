import type { Command } from 'commander';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { parsePositiveInt } from '../input/input.parse';
import { formatDetail } from '../output/detail.format';
import { formatTable, formatTime, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'version', value: (r) => r.currentVersion, align: 'right' },
  { header: 'transform', value: (r) => r.transform },
  { header: 'records', value: (r) => r.records ?? r.recordCount, align: 'right' },
  { header: 'quarantined', value: (r) => r.quarantined ?? r.quarantineCount, align: 'right' },
  { header: 'versions', value: (r) => r.versions, align: 'right' },
  { header: 'fresh', value: (r) => formatTime(r.freshAt ?? r.updatedAt) },
];

const versionColumns: Column<Row>[] = [
  { header: 'version', value: (r) => `${String(r.version)}${r.current ? ' *' : ''}`, align: 'right' },
  { header: 'transform', value: (r) => r.transform },
  { header: 'records', value: (r) => r.rows, align: 'right' },
  { header: 'quarantined', value: (r) => r.quarantined, align: 'right' },
  { header: 'captures', value: (r) => r.captures, align: 'right' },
  { header: 'replay', value: (r) => r.replayId },
  { header: 'last completed', value: (r) => formatTime(r.lastCompletedAt) },
];

const quarantineColumns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'capture', value: (r) => r.capture ?? r.captureId },
  { header: 'transform', value: (r) => r.transform },
  { header: 'path', value: (r) => r.path },
  { header: 'reason', value: (r) => r.reason ?? r.error, max: 70 },
  { header: 'at', value: (r) => formatTime(r.quarantinedAt ?? r.time) },
];

export function registerDatasetCommands(program: Command, action: ActionFactory): void {
  const datasets = program.command('datasets').description('datasets produced by transforms: versions, records they quarantined, promotion');

  paged(datasets.command('list').description('list datasets with their current version, records and freshness')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/datasets', {}, opts), columns, 'no datasets', opts);
    }),
  );

  datasets
    .command('show')
    .description('show one dataset: current version, every version with its transform and counts, freshness')
    .argument('<id>', 'dataset id')
    .action(
      action(async (ctx, [id]) => {
        await ctx.show<Row>(`/datasets${idPath(id!)}`, undefined, (d) => {
          const { versions, ...rest } = d as Row & { versions?: Row[] };
          ctx.out.line(formatDetail(rest, { color: ctx.out.color }));
          if (Array.isArray(versions) && versions.length > 0) {
            ctx.out.line();
            ctx.out.line(formatTable(versionColumns, versions, { color: ctx.out.color }));
          }
        });
      }),
    );

  paged(
    datasets
      .command('quarantine')
      .description('records a transform refused for this dataset, and why')
      .argument('<id>', 'dataset id')
      .option('--version <n>', 'only this dataset version'),
  ).action(
    action<PageOptions & { version?: string }>(async (ctx, [id], opts) => {
      const version = opts.version === undefined ? undefined : String(parsePositiveInt(opts.version, '--version'));
      const listing = await ctx.list<Row>(`/datasets${idPath(id!, 'quarantine')}`, { version }, opts);
      ctx.printList(listing, quarantineColumns, `nothing quarantined in ${id}`, opts);
    }),
  );

  datasets
    .command('promote')
    .description('make a dataset version current (recorded with you as its actor)')
    .argument('<dataset>', 'dataset id')
    .argument('<version>', 'the version to make current, e.g. 2')
    .option('--reason <text>', 'why; recorded with the promotion')
    .addHelpText('after', '\nExample:\n  steward replay diff rp-7f3a   # compare first\n  steward datasets promote supplier-prices 2 --reason "minor units"')
    .action(
      action<{ reason?: string }>(async (ctx, [dataset, version], opts) => {
        const v = parsePositiveInt(version!, 'VERSION');
        await ctx.send<Row>('POST', `/datasets${idPath(dataset!, 'promote')}`, { version: v, ...(opts.reason !== undefined && { reason: opts.reason }) }, {
          service: 'transformer',
          done: (r) => {
            // The outcome is dataset.version_promoted, or command.accepted when it was current already.
            const type = (r.event as Row | undefined)?.type;
            const previous = r.previousVersion === undefined ? '' : ` (was ${String(r.previousVersion)})`;
            ctx.out.line(type === 'command.accepted' ? `dataset ${dataset} version ${v} was already current` : `dataset ${dataset} version ${v} is current${previous}`);
          },
        });
      }),
    );
}
