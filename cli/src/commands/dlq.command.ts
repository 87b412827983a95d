import type { Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { formatTime, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'workflow', value: (r) => r.workflow ?? r.workflowId },
  { header: 'run', value: (r) => r.run ?? r.runId },
  { header: 'step', value: (r) => r.step ?? r.stepId },
  { header: 'attempts', value: (r) => r.attempts, align: 'right' },
  { header: 'dead since', value: (r) => formatTime(r.deadLetteredAt ?? r.createdAt) },
  { header: 'last error', value: (r) => r.error ?? r.lastError, max: 60 },
];

export function registerDlqCommands(program: Command, action: ActionFactory): void {
  const dlq = program.command('dlq').description('dead letters: work that failed every attempt');

  paged(dlq.command('list').description('list dead letters')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/dlq', {}, opts), columns, 'the dead-letter queue is empty', opts);
    }),
  );

  dlq
    .command('requeue')
    .description('send a dead letter back for another attempt')
    .argument('<id>', 'dead letter id')
    .option('--reason <text>', 'why; recorded in the timeline')
    .action(
      action<{ reason?: string }>(async (ctx, [id], opts) => {
        await ctx.send('POST', `/dlq${idPath(id!, 'requeue')}`, { reason: opts.reason }, {
          service: 'executor',
          done: () => ctx.out.line(`requeued ${id}`),
        });
      }),
    );

  dlq
    .command('discard')
    .description('give up on a dead letter for good (the reason is required and recorded)')
    .argument('<id>', 'dead letter id')
    .requiredOption('--reason <text>', 'why it is safe to drop; recorded in the timeline')
    .action(
      action<{ reason: string }>(async (ctx, [id], opts) => {
        if (opts.reason.trim() === '') {
          throw new ValidationError('--reason must say why the dead letter can be dropped; got an empty text', [
            { path: '--reason', message: 'empty' },
          ]);
        }
        await ctx.send('POST', `/dlq${idPath(id!, 'discard')}`, { reason: opts.reason }, {
          service: 'executor',
          done: () => ctx.out.line(`discarded ${id}`),
        });
      }),
    );
}
