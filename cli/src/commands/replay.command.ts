import type { Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { idPath, type ActionFactory, type CommandContext, type Row } from '../command.context';
import { Interrupted, OperationFailed } from '../errors/cli.errors';
import { exactlyOne, parseTimeArg, parseTransformRef } from '../input/input.parse';
import { formatDetail } from '../output/detail.format';
import { statusColor } from '../output/table.format';
import { FINAL_REPLAY_STATES, formatReplayProgress, type ReplayStatus } from '../replay/progress.format';

interface StartOptions {
  source?: string;
  workflow?: string;
  from?: string;
  to?: string;
  transform: string;
  dryRun?: boolean;
}

function statusLine(ctx: CommandContext, s: ReplayStatus): string {
  return `replay ${s.id} ${statusColor(s.status, ctx.out.color)}  ${formatReplayProgress(s)}`;
}

/** Polls once a second (io.pollIntervalMs), redrawing in place on a terminal and printing changes otherwise. */
async function watch(ctx: CommandContext, id: string): Promise<ReplayStatus> {
  const { out, io } = ctx;
  let previous = '';
  for (;;) {
    const status = await ctx.get<ReplayStatus>(`/replays${idPath(id)}`);
    const done = FINAL_REPLAY_STATES.has(status.status);
    if (out.json) out.printJsonLine(status);
    else {
      const line = statusLine(ctx, status);
      if (out.interactive) out.write(`\r\u001b[2K${line}${done ? '\n' : ''}`);
      else if (line !== previous) out.line(line);
      previous = line;
    }
    if (done) return status;
    await io.sleep(io.pollIntervalMs, io.signal);
    if (io.signal.aborted) {
      if (out.interactive && !out.json) out.write('\n');
      throw new Interrupted();
    }
  }
}

export function registerReplayCommands(program: Command, action: ActionFactory): void {
  const replay = program
    .command('replay')
    .description('re-run transformations over stored raw captures, without re-fetching anything');

  replay
    .command('start')
    .description('replay the raw captures of a source or workflow through a transform version')
    .option('--source <source>', 'replay the captures of this source')
    .option('--workflow <id>', "replay the captures of this workflow's collect steps")
    .option('--from <time>', 'from this time: ISO 8601 (2026-05-01T00:00:00Z) or a duration ago (7d)')
    .option('--to <time>', 'up to this time, same forms as --from')
    .requiredOption('--transform <name@version>', 'transform version to run, e.g. supplier-prices@3')
    .option('--dry-run', 'count what would be replayed and check the transform, without writing results')
    .addHelpText('after', '\nGive exactly one of --source and --workflow.\n\nExample:\n  steward replay start --source supplier-portal --from 30d --transform supplier-prices@3 --dry-run')
    .action(
      action<StartOptions>(async (ctx, _args, opts) => {
        const by = exactlyOne({ source: opts.source, workflow: opts.workflow }, { source: '--source', workflow: '--workflow' });
        const transform = parseTransformRef(opts.transform);
        const now = ctx.io.now();
        const from = opts.from === undefined ? undefined : parseTimeArg(opts.from, '--from', now);
        const to = opts.to === undefined ? undefined : parseTimeArg(opts.to, '--to', now);
        if (from && to && from >= to) {
          throw new ValidationError(`--from (${from}) must be before --to (${to})`, [{ path: '--from', message: 'not before --to' }]);
        }
        const body = { [by]: by === 'source' ? opts.source : opts.workflow, from, to, transform, dryRun: opts.dryRun === true };
        await ctx.send<Row>('POST', '/replays', body, {
          service: 'ledger',
          done: (r) => {
            const total = r.total === undefined ? '' : ` over ${String(r.total)} captures`;
            ctx.out.line(`${opts.dryRun ? 'dry-run ' : ''}replay ${String(r.id)} started${total}`);
            ctx.out.note(`watch it: steward replay status ${String(r.id)} --watch`);
          },
        });
      }),
    );

  replay
    .command('status')
    .description('show the progress of a replay')
    .argument('<id>', 'replay id')
    .option('--watch', 'redraw the progress every second until the replay completes or fails (exit 1 if it fails)')
    .action(
      action<{ watch?: boolean }>(async (ctx, [id], opts) => {
        if (!opts.watch) {
          await ctx.show<ReplayStatus>(`/replays${idPath(id!)}`, undefined, (s) => {
            ctx.out.line(statusLine(ctx, s));
            if (s.error) ctx.out.line(`error: ${s.error}`);
          });
          return;
        }
        const final = await watch(ctx, id!);
        if (final.status !== 'completed') {
          throw new OperationFailed(`replay ${id} ${final.status}${final.error ? `: ${final.error}` : ''}`, { replay: id });
        }
      }),
    );

  replay
    .command('diff')
    .description("compare a replay's results with what the previous transform version produced")
    .argument('<id>', 'replay id')
    .action(
      action(async (ctx, [id]) => {
        await ctx.show<Row>(`/replays${idPath(id!, 'diff')}`, undefined, (d) =>
          ctx.out.line(formatDetail(d, { color: ctx.out.color })),
        );
      }),
    );
}
