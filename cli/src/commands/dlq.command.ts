import type { Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { idPath, paged, type ActionFactory, type CommandContext, type PageOptions, type Row } from '../command.context';
import type { Query } from '../http/api.client';
import { parseDuration } from '../input/duration.parse';
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

interface FilterOptions {
  workflow?: string;
  step?: string;
  code?: string;
  since?: string;
}

interface ActOptions extends FilterOptions {
  all?: boolean;
  reason?: string;
}

const FILTER_FLAGS: Record<keyof FilterOptions, string> = { workflow: '--workflow', step: '--step', code: '--code', since: '--since' };

function filterOf(opts: FilterOptions): FilterOptions {
  if (opts.since !== undefined) parseDuration(opts.since, '--since');
  const filter: FilterOptions = {};
  for (const key of Object.keys(FILTER_FLAGS) as Array<keyof FilterOptions>) if (opts[key] !== undefined) filter[key] = opts[key];
  return filter;
}

function withFilters(command: Command): Command {
  return command
    .option('--workflow <id>', 'only dead letters of this workflow')
    .option('--step <id>', 'only dead letters of this step')
    .option('--code <code>', 'only dead letters whose last error has this code (e.g. http_503)')
    .option('--since <duration>', 'only dead letters from within this long (e.g. 24h)');
}

/** Exactly one of: an ID, filter flags, or --all (exit 2 naming what clashes). */
function selection(id: string | undefined, opts: ActOptions): { id: string } | { filter: FilterOptions; all: boolean } {
  const filters = (Object.keys(FILTER_FLAGS) as Array<keyof FilterOptions>).filter((k) => opts[k] !== undefined).map((k) => FILTER_FLAGS[k]);
  const given = [...(id !== undefined ? ['ID'] : []), ...(filters.length > 0 ? [filters[0]!] : []), ...(opts.all ? ['--all'] : [])];
  if (given.length !== 1) {
    const what = 'give exactly one of ID, filters (--workflow, --step, --code, --since) or --all';
    throw new ValidationError(given.length === 0 ? what : `${what}, not ${given.join(' and ')}`, [
      { path: given.length === 0 ? 'ID|--workflow|--step|--code|--since|--all' : given[1]!, message: given.length === 0 ? 'nothing selected' : `not with ${given[0]}` },
    ]);
  }
  if (id !== undefined) return { id };
  return { filter: filterOf(opts), all: opts.all === true };
}

interface BulkOutcome {
  matched?: number;
  requeued?: number;
  discarded?: number;
  skipped?: Array<{ id: string; reason: string }>;
  truncated?: boolean;
}

function printBulk(ctx: CommandContext, verb: 'requeued' | 'discarded', body: BulkOutcome): void {
  const skipped = body.skipped ?? [];
  ctx.out.line(`${verb} ${body[verb] ?? 0} of ${body.matched ?? 0} dead letters; skipped ${skipped.length}`);
  for (const s of skipped) ctx.out.line(`  skipped ${s.id}: ${s.reason}`);
  if (body.truncated) ctx.out.note(`more dead letters match than one request takes; run the command again for the rest`);
}

async function act(ctx: CommandContext, action: 'requeue' | 'discard', id: string | undefined, opts: ActOptions): Promise<void> {
  const verb = action === 'requeue' ? 'requeued' : 'discarded';
  const picked = selection(id, opts);
  if ('id' in picked) {
    await ctx.send('POST', `/dlq${idPath(picked.id, action)}`, { reason: opts.reason }, { service: 'executor', done: () => ctx.out.line(`${verb} ${picked.id}`) });
    return;
  }
  const body = { filter: picked.filter, ...(picked.all && { all: true }), ...(opts.reason !== undefined && { reason: opts.reason }) };
  await ctx.send<BulkOutcome>('POST', `/dlq/${action}`, body, { service: 'executor', done: (outcome) => printBulk(ctx, verb, outcome) });
}

export function registerDlqCommands(program: Command, action: ActionFactory): void {
  const dlq = program.command('dlq').description('dead letters: work that failed every attempt');

  withFilters(paged(dlq.command('list').description('list open dead letters, optionally filtered'))).action(
    action<PageOptions & FilterOptions>(async (ctx, _args, opts) => {
      const query: Query = { ...filterOf(opts) };
      ctx.printList(await ctx.list<Row>('/dlq', query, opts), columns, 'the dead-letter queue is empty', opts);
    }),
  );

  withFilters(
    dlq
      .command('requeue')
      .description('send dead letters back for another attempt: one by ID, or every open one matching the filters, or --all')
      .argument('[id]', 'dead letter id'),
  )
    .option('--all', 'every open dead letter')
    .option('--reason <text>', 'why; recorded in the timeline')
    .action(
      action<ActOptions>(async (ctx, [id], opts) => {
        await act(ctx, 'requeue', id, opts);
      }),
    );

  withFilters(
    dlq
      .command('discard')
      .description('give up on dead letters for good: one by ID, or every open one matching the filters, or --all (the reason is required and recorded)')
      .argument('[id]', 'dead letter id'),
  )
    .option('--all', 'every open dead letter')
    .requiredOption('--reason <text>', 'why it is safe to drop; recorded in the timeline')
    .action(
      action<ActOptions & { reason: string }>(async (ctx, [id], opts) => {
        if (opts.reason.trim() === '') {
          throw new ValidationError('--reason must say why the dead letter can be dropped; got an empty text', [{ path: '--reason', message: 'empty' }]);
        }
        await act(ctx, 'discard', id, opts);
      }),
    );
}
