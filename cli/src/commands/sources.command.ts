import type { Command } from 'commander';
import { changedNothing, idPath, type ActionFactory, type Row } from '../command.context';
import { formatTable, formatTime, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'source', value: (r) => r.source },
  { header: 'state', value: (r) => (r.disabled ? 'disabled' : 'enabled') },
  { header: 'by', value: (r) => `${String(r.changedBy ?? '-')}${r.automated ? ' (automated)' : ''}` },
  { header: 'since', value: (r) => formatTime(r.changedAt) },
  { header: 'workflow', value: (r) => r.workflowId },
  { header: 'reason', value: (r) => r.reason, max: 60 },
];

/** Sources the collector fetches: which are switched off (by an alert or an operator), and the switch. */
export function registerSourceCommands(program: Command, action: ActionFactory): void {
  const sources = program.command('sources').description('collection sources: which are disabled, and disable / enable one');

  sources
    .command('list')
    .description('sources that were disabled or re-enabled, by whom and why')
    .option('--disabled', 'only sources that are disabled now')
    .action(
      action<{ disabled?: boolean }>(async (ctx, _args, opts) => {
        await ctx.show<{ items: Row[] }>('/sources', opts.disabled ? { disabled: 'true' } : undefined, (body) =>
          ctx.out.line(body.items.length === 0 ? (opts.disabled ? 'no source is disabled' : 'no source was ever disabled') : formatTable(columns, body.items, { color: ctx.out.color })),
        );
      }),
    );

  for (const verb of ['disable', 'enable'] as const) {
    sources
      .command(verb)
      .description(verb === 'disable' ? 'stop fetching a source: its collect steps fail at once (source_disabled) until enabled' : 'fetch a disabled source again')
      .argument('<source>', 'source name, e.g. supplier-prices.fetch (<workflow>.<step>)')
      .option('--reason <text>', 'why; recorded in the timeline')
      .action(
        action<{ reason?: string }>(async (ctx, [source], opts) => {
          await ctx.send('POST', `/sources${idPath(source!, verb)}`, opts.reason === undefined ? {} : { reason: opts.reason }, {
            service: 'collector',
            // command.accepted: the collector changed nothing (already disabled, or not disabled to begin with).
            done: (outcome) => ctx.out.line(changedNothing(outcome) ? `source ${source} was already ${verb}d` : `source ${source} ${verb}d`),
          });
        }),
      );
  }
}
