import type { Command } from 'commander';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { formatTime, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'run', value: (r) => r.run ?? r.runId },
  { header: 'step', value: (r) => r.step ?? r.stepId },
  { header: 'workflow', value: (r) => r.workflow ?? r.workflowId },
  { header: 'approvers', value: (r) => r.approvers },
  { header: 'requested', value: (r) => formatTime(r.requestedAt) },
  { header: 'expires', value: (r) => formatTime(r.expiresAt) },
  { header: 'on timeout', value: (r) => `${String(r.onTimeout ?? '-')}${r.escalated ? ' (escalated)' : ''}` },
];

export function registerApprovalCommands(program: Command, action: ActionFactory): void {
  const approvals = program.command('approvals').description('approval steps waiting for a person');

  paged(approvals.command('list').description('list approvals waiting for a decision')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/approvals', {}, opts), columns, 'no approvals waiting', opts);
    }),
  );

  for (const verb of ['approve', 'reject'] as const) {
    approvals
      .command(verb)
      .description(verb === 'approve' ? 'approve a waiting step; the run continues' : 'reject a waiting step; the run fails')
      .argument('<run>', 'run id')
      .argument('<step>', 'step id')
      .option('--comment <text>', 'recorded with the decision')
      .action(
        action<{ comment?: string }>(async (ctx, [run, step], opts) => {
          await ctx.send('POST', `/approvals${idPath(run!, step!, verb)}`, { comment: opts.comment }, {
            service: 'executor',
            done: () => ctx.out.line(`${verb === 'approve' ? 'approved' : 'rejected'} step ${step} of run ${run}`),
          });
        }),
      );
  }
}
