import type { Command } from 'commander';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { formatDetail } from '../output/detail.format';
import { formatTime, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'owner', value: (r) => r.owner },
  { header: 'workflow', value: (r) => r.workflow },
  { header: 'transform', value: (r) => r.transform },
  { header: 'records', value: (r) => r.records ?? r.recordCount, align: 'right' },
  { header: 'quarantined', value: (r) => r.quarantined ?? r.quarantineCount, align: 'right' },
  { header: 'updated', value: (r) => formatTime(r.updatedAt) },
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
  const datasets = program.command('datasets').description('datasets produced by transforms, and records they quarantined');

  paged(datasets.command('list').description('list datasets')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/datasets', {}, opts), columns, 'no datasets', opts);
    }),
  );

  datasets
    .command('show')
    .description('show one dataset: schema, versions, freshness')
    .argument('<id>', 'dataset id')
    .action(
      action(async (ctx, [id]) => {
        await ctx.show<Row>(`/datasets${idPath(id!)}`, undefined, (d) => ctx.out.line(formatDetail(d, { color: ctx.out.color })));
      }),
    );

  paged(
    datasets
      .command('quarantine')
      .description('records a transform refused for this dataset, and why')
      .argument('<id>', 'dataset id'),
  ).action(
    action<PageOptions>(async (ctx, [id], opts) => {
      const listing = await ctx.list<Row>(`/datasets${idPath(id!, 'quarantine')}`, {}, opts);
      ctx.printList(listing, quarantineColumns, `nothing quarantined in ${id}`, opts);
    }),
  );
}
