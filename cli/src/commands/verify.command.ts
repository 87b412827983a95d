import type { Command } from 'commander';
import type { ActionFactory, Row } from '../command.context';
import { OperationFailed } from '../errors/cli.errors';
import { parseDuration } from '../input/duration.parse';
import { formatTable, statusColor, type Column } from '../output/table.format';

interface VerifyReport {
  ok: boolean;
  checks: Array<Row & { name: string; ok: boolean; detail?: string }>;
}

const columns: Column<VerifyReport['checks'][number]>[] = [
  { header: 'result', value: (c) => (c.ok ? 'ok' : 'FAIL'), style: (t) => statusColor(t, true) },
  { header: 'check', value: (c) => c.name },
  { header: 'detail', value: (c) => c.detail, max: 100 },
];

export function registerVerifyCommand(program: Command, action: ActionFactory): void {
  program
    .command('verify')
    .description('check the event store, JetStream and every projection agree; exits 1 when they do not')
    .option('--since <duration>', 'only check what changed this far back (e.g. 1h, 1d)')
    .action(
      action<{ since?: string }>(async (ctx, _args, opts) => {
        if (opts.since !== undefined) parseDuration(opts.since, '--since');
        const report = await ctx.show<VerifyReport>('/verify', { since: opts.since }, (r) => {
          const checks = Array.isArray(r.checks) ? r.checks : [];
          if (checks.length > 0) ctx.out.line(formatTable(columns, checks, { color: ctx.out.color }));
          const failed = checks.filter((c) => !c.ok).length;
          ctx.out.line(r.ok ? `\nconsistent: all ${checks.length} checks passed` : `\nINCONSISTENT: ${failed} of ${checks.length} checks failed`);
        });
        if (!report.ok) {
          const failed = (report.checks ?? []).filter((c) => !c.ok).map((c) => c.name);
          throw new OperationFailed(`verification failed: ${failed.join(', ') || 'see the report'}`, { failed });
        }
      }),
    );
}
