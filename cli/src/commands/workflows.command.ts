import type { Command } from 'commander';
import { changedNothing, idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { readInputFile } from '../input/input.parse';
import { formatDetail } from '../output/detail.format';
import { formatTime, statusColor, type Column } from '../output/table.format';

function schedule(value: unknown): string {
  if (typeof value !== 'object' || value === null) return value === undefined ? '-' : String(value);
  const s = value as Record<string, unknown>;
  if (s.cron) return `cron ${String(s.cron)}${s.timezone ? ` ${String(s.timezone)}` : ''}`;
  if (s.every) return `every ${String(s.every)}`;
  if (s.on) return `on ${String(s.on)}`;
  if (s.at) return `at ${String(s.at)}`;
  return JSON.stringify(value);
}

/** The top-level `id:` of a workflow file, for messages when the reply does not carry it. */
function workflowIdOf(yaml: string): string | undefined {
  return /^id:[ \t]*["']?([a-z][a-z0-9_-]*)["']?[ \t]*(?:#.*)?$/m.exec(yaml)?.[1];
}

export function registerWorkflowCommands(program: Command, action: ActionFactory): void {
  const workflows = program
    .command('workflows')
    .description('workflow definitions: apply YAML, list, inspect, pause and resume');

  workflows
    .command('apply')
    .description('create or update a workflow from a YAML file')
    .requiredOption('-f, --file <file>', 'workflow YAML file')
    .addHelpText('after', '\nA rejected file lists each problem by its path, e.g.\n  steps[2].retry.maxAttempts: must be at least 1')
    .action(
      action<{ file: string }>(async (ctx, _args, opts) => {
        const yaml = await readInputFile(opts.file, ctx.io.cwd, '-f');
        await ctx.send<Row>('POST', '/workflows', { yaml, file: opts.file }, {
          service: 'scheduler',
          // The outcome is workflow.applied (id, version), or command.accepted when the file matches the current version.
          done: (w) => {
            if (changedNothing(w)) {
              ctx.out.line(`workflow ${workflowIdOf(yaml) ?? opts.file} unchanged: ${opts.file} matches its current version`);
              return;
            }
            ctx.out.line(`workflow ${String(w.id ?? opts.file)}${w.version === undefined ? '' : ` (version ${String(w.version)})`} applied`);
          },
        });
      }),
    );

  const columns: Column<Row>[] = [
    { header: 'id', value: (r) => r.id },
    { header: 'owner', value: (r) => r.owner },
    { header: 'status', value: (r) => r.status ?? (r.paused ? 'paused' : 'active'), style: (t) => statusColor(t, true) },
    { header: 'version', value: (r) => r.version, align: 'right' },
    { header: 'schedule', value: (r) => schedule(r.schedule) },
    { header: 'last run', value: (r) => formatTime(r.lastRunAt) },
  ];
  paged(workflows.command('list').description('list workflows')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/workflows', {}, opts), columns, 'no workflows', opts);
    }),
  );

  workflows
    .command('show')
    .description('show one workflow: owner, runbook, schedule, steps, budget, SLO')
    .argument('<id>', 'workflow id')
    .action(
      action(async (ctx, [id]) => {
        await ctx.show<Row>(`/workflows${idPath(id!)}`, undefined, (w) =>
          ctx.out.line(formatDetail(w, { color: ctx.out.color })),
        );
      }),
    );

  for (const verb of ['pause', 'resume'] as const) {
    workflows
      .command(verb)
      .description(verb === 'pause' ? 'stop scheduling new runs (running ones finish)' : 'schedule runs again')
      .argument('<id>', 'workflow id')
      .option('--reason <text>', 'why; recorded in the timeline')
      .action(
        action<{ reason?: string }>(async (ctx, [id], opts) => {
          await ctx.send<Row>('POST', `/workflows${idPath(id!, verb)}`, { reason: opts.reason }, {
            service: 'scheduler',
            done: (outcome) => {
              if (changedNothing(outcome)) ctx.out.line(`workflow ${id} was already ${verb === 'pause' ? 'paused' : 'active'}`);
              else ctx.out.line(`workflow ${id} ${verb === 'pause' ? 'paused' : 'resumed'}`);
            },
          });
        }),
      );
  }
}
