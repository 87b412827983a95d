import type { Command } from 'commander';
import { changedNothing, idPath, paged, type ActionFactory, type CommandContext, type PageOptions, type Row } from '../command.context';
import { GatewayError, OperationFailed } from '../errors/cli.errors';
import { formatDuration, parseDuration } from '../input/duration.parse';
import { parseJsonInput } from '../input/input.parse';
import { formatDetail } from '../output/detail.format';
import { formatTable, formatTime, statusColor, type Column } from '../output/table.format';

// Ended badly: `runs wait` exits 1 for these so scripts can gate on a run.
const FAILED = new Set(['failed', 'cancelled', 'canceled', 'timed_out', 'rejected', 'dead_lettered']);

function duration(r: Row): string {
  const start = Date.parse(String(r.startedAt));
  const end = Date.parse(String(r.endedAt));
  const ms = typeof r.durationMs === 'number' ? r.durationMs : end - start;
  if (Number.isNaN(ms)) return '-';
  // Most steps and many runs take well under a second: "0s" would say nothing.
  return ms > 0 && ms < 999.5 ? `${Math.round(ms)}ms` : formatDuration(ms);
}

const runColumns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'workflow', value: (r) => r.workflow ?? r.workflowId },
  { header: 'status', value: (r) => r.status, style: (t) => statusColor(t, true) },
  { header: 'trigger', value: (r) => r.trigger },
  // A queued run has no startedAt yet (null): when it was requested says more than '-'.
  { header: 'started', value: (r) => formatTime(r.startedAt ?? r.requestedAt) },
  { header: 'duration', value: duration, align: 'right' },
];

// The step graph as a table: each step names what it waits for (`needs`), in
// the order the run defines them, which is a topological order of the DAG.
const stepColumns: Column<Row>[] = [
  { header: 'step', value: (r) => `${Array.isArray(r.needs) && r.needs.length > 0 ? '└─ ' : ''}${r.id ?? r.step}` },
  { header: 'kind', value: (r) => r.kind },
  { header: 'needs', value: (r) => (Array.isArray(r.needs) ? r.needs.join(', ') : r.needs) },
  { header: 'status', value: (r) => r.status ?? r.state, style: (t) => statusColor(t, true) },
  { header: 'attempts', value: (r) => (Array.isArray(r.attempts) ? r.attempts.length : r.attempts), align: 'right' },
  { header: 'started', value: (r) => formatTime(r.startedAt) },
  { header: 'duration', value: duration, align: 'right' },
  { header: 'error', value: (r) => r.error, max: 60 },
];

function printRun(ctx: CommandContext, run: Row): void {
  const { steps, ...rest } = run;
  ctx.out.line(formatDetail(rest, { color: ctx.out.color }));
  if (Array.isArray(steps) && steps.length > 0) {
    ctx.out.line('');
    ctx.out.line(formatTable(stepColumns, steps as Row[], { color: ctx.out.color }));
  }
}

export function registerRunCommands(program: Command, action: ActionFactory): void {
  const runs = program.command('runs').description('workflow runs: start, list, inspect, wait for, cancel');

  runs
    .command('start')
    .description('start a run of a workflow now')
    .argument('<workflow>', 'workflow id')
    .option('--input <json>', "run input as JSON, or @FILE to read it from a file (e.g. --input '{\"day\":\"2026-05-01\"}')")
    .action(
      action<{ input?: string }>(async (ctx, [workflow], opts) => {
        const input = opts.input === undefined ? undefined : await parseJsonInput(opts.input, ctx.io.cwd, '--input');
        await ctx.send<Row>('POST', '/runs', { workflow, input }, {
          service: 'scheduler',
          // The reply is the scheduler's schedule.run_requested (its run id and the workflow version it keeps).
          done: (requested) => {
            const runId = String(requested.runId);
            ctx.out.line(`started run ${runId} of ${workflow}${requested.version !== undefined ? ` (version ${String(requested.version)})` : ''}`);
            ctx.out.note(`follow it: steward timeline --run ${runId}   wait for it: steward runs wait ${runId}`);
          },
        });
      }),
    );

  paged(
    runs
      .command('list')
      .description('list runs, newest first')
      .option('--workflow <id>', 'only runs of this workflow')
      .option('--status <status>', 'only runs in this status (e.g. running, failed, succeeded)'),
  ).action(
    action<PageOptions & { workflow?: string; status?: string }>(async (ctx, _args, opts) => {
      const listing = await ctx.list<Row>('/runs', { workflow: opts.workflow, status: opts.status }, opts);
      ctx.printList(listing, runColumns, 'no runs', opts);
    }),
  );

  runs
    .command('show')
    .description('show one run and its steps')
    .argument('<run>', 'run id')
    .action(
      action(async (ctx, [id]) => {
        await ctx.show<Row>(`/runs${idPath(id!)}`, undefined, (run) => printRun(ctx, run));
      }),
    );

  runs
    .command('wait')
    .description('wait until a run ends; exits 0 when it succeeded, 1 when it failed or is still running')
    .argument('<run>', 'run id')
    .option('--timeout <duration>', 'how long to wait (e.g. 30s, 5m)', '60s')
    .action(
      action<{ timeout: string }>(async (ctx, [id], opts) => {
        const waitMs = parseDuration(opts.timeout, '--timeout');
        let run: Row;
        try {
          // The gateway holds the request up to --timeout; give the socket some slack beyond that.
          run = await ctx.get<Row>(`/runs${idPath(id!, 'wait')}`, { timeout: opts.timeout }, waitMs + 15_000);
        } catch (err) {
          if (err instanceof GatewayError && (err.status === 408 || err.error.code === 'timeout')) {
            throw new OperationFailed(`run ${id} is still running after ${opts.timeout}`, { run: id }, 'timeout');
          }
          throw err;
        }
        if (ctx.out.json) ctx.out.printJson(run);
        else printRun(ctx, run);
        const status = String(run.status ?? '');
        if (FAILED.has(status)) throw new OperationFailed(`run ${id} ended ${status}`, { run: id, status });
      }),
    );

  runs
    .command('cancel')
    .description('cancel a run; running steps are stopped')
    .argument('<run>', 'run id')
    .option('--reason <text>', 'why; recorded in the timeline')
    .action(
      action<{ reason?: string }>(async (ctx, [id], opts) => {
        await ctx.send('POST', `/runs${idPath(id!, 'cancel')}`, { reason: opts.reason }, {
          service: 'executor',
          done: (outcome) => ctx.out.line(changedNothing(outcome) ? `run ${id} was already cancelled` : `run ${id} cancelled`),
        });
      }),
    );
}
