import type { Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { idPath, type ActionFactory, type CommandContext, type Row } from '../command.context';
import { Interrupted, OperationFailed } from '../errors/cli.errors';
import { exactlyOne, parsePositiveInt, parseTimeArg, parseTransformRef } from '../input/input.parse';
import { statusColor } from '../output/table.format';
import { formatReplayDiff, type ReplayDiff } from '../replay/diff.format';
import { FINAL_REPLAY_STATES, formatReplayProgress, type ReplayStatus } from '../replay/progress.format';

interface StartOptions {
  source?: string;
  workflow?: string;
  rebuild?: string;
  types?: string;
  from?: string;
  to?: string;
  transform?: string;
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
    .description('replay the raw captures of a source or workflow through a transform version, or re-publish stored events to rebuild a service')
    .option('--source <source>', 'replay the captures of this source')
    .option('--workflow <id>', "replay the captures of this workflow's collect steps")
    .option('--rebuild <service>', "re-publish stored events onto a replay subject for this service to rebuild its projections (recovery)")
    .option('--types <types>', 'with --rebuild: comma-separated event types to re-publish (default all)')
    .option('--from <time>', 'from this time: ISO 8601 (2026-05-01T00:00:00Z) or a duration ago (7d)')
    .option('--to <time>', 'up to this time, same forms as --from')
    .option('--transform <name@version>', 'transform version to run, e.g. supplier-prices@3 (required with --source and --workflow)')
    .option('--dry-run', 'count what would be replayed and check the transform, without writing results')
    .addHelpText(
      'after',
      '\nGive exactly one of --source, --workflow and --rebuild.\n\nExamples:\n  steward replay start --source supplier-portal --from 30d --transform supplier-prices@3 --dry-run\n  steward replay start --rebuild scheduler',
    )
    .action(
      action<StartOptions>(async (ctx, _args, opts) => {
        if (opts.rebuild !== undefined && (opts.source !== undefined || opts.workflow !== undefined)) {
          const other = opts.source !== undefined ? '--source' : '--workflow';
          throw new ValidationError(`give either --rebuild or one of --source, --workflow, not --rebuild and ${other}`, [{ path: '--rebuild', message: `not with ${other}` }]);
        }
        const by = opts.rebuild !== undefined ? 'rebuild' : exactlyOne({ source: opts.source, workflow: opts.workflow }, { source: '--source', workflow: '--workflow' });
        if (by !== 'rebuild' && opts.transform === undefined) {
          throw new ValidationError('--transform is required with --source and --workflow', [{ path: '--transform', message: 'required for a backfill' }]);
        }
        if (by === 'rebuild' && opts.transform !== undefined) {
          throw new ValidationError('--rebuild re-publishes events unchanged; it takes no --transform', [{ path: '--transform', message: 'not with --rebuild' }]);
        }
        if (by !== 'rebuild' && opts.types !== undefined) {
          throw new ValidationError('--types goes with --rebuild only', [{ path: '--types', message: 'only with --rebuild' }]);
        }
        const transform = opts.transform === undefined ? undefined : parseTransformRef(opts.transform);
        const types = opts.types?.split(',').map((t) => t.trim()).filter((t) => t !== '');
        const now = ctx.io.now();
        const from = opts.from === undefined ? undefined : parseTimeArg(opts.from, '--from', now);
        const to = opts.to === undefined ? undefined : parseTimeArg(opts.to, '--to', now);
        if (from && to && from >= to) {
          throw new ValidationError(`--from (${from}) must be before --to (${to})`, [{ path: '--from', message: 'not before --to' }]);
        }
        const body = { [by]: opts[by], from, to, transform, types, dryRun: opts.dryRun === true };
        await ctx.send<Row>('POST', '/replays', body, {
          service: 'ledger',
          done: (r) => {
            // The outcome is the replay.started event: replayId, total, kind.
            const id = String(r.replayId ?? r.id);
            const what = by === 'rebuild' ? `events for ${String(opts.rebuild)}` : 'captures';
            const total = r.total === undefined ? '' : ` over ${String(r.total)} ${what}`;
            ctx.out.line(`${opts.dryRun ? 'dry-run ' : ''}${by === 'rebuild' ? 'rebuild' : 'replay'} ${id} started${total}`);
            ctx.out.note(`watch it: steward replay status ${id} --watch`);
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
    .command('cancel')
    .description('stop a replay: nothing more is published for it; rows already written stay')
    .argument('<id>', 'replay id')
    .option('--reason <text>', 'why; recorded in the timeline')
    .action(
      action<{ reason?: string }>(async (ctx, [id], opts) => {
        await ctx.send('POST', `/replays${idPath(id!, 'cancel')}`, opts.reason === undefined ? {} : { reason: opts.reason }, {
          service: 'ledger',
          done: () => ctx.out.line(`replay ${id} cancelled`),
        });
      }),
    );

  replay
    .command('diff')
    .description("compare a replay's dataset version with the version current when it started: added, changed, removed rows and quarantine counts")
    .argument('<id>', 'replay id')
    .option('--limit <n>', 'differing rows to list (default 20; --json lists 100 unless given)')
    .action(
      action<{ limit?: string }>(async (ctx, [id], opts) => {
        const limit = opts.limit === undefined ? (ctx.out.json ? undefined : '20') : String(parsePositiveInt(opts.limit, '--limit'));
        await ctx.show<ReplayDiff>(`/replays${idPath(id!, 'diff')}`, { limit }, (d) => ctx.out.line(formatReplayDiff(d, ctx.out.color)));
      }),
    );
}
