import { Option, type Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { paged, type ActionFactory, type CommandContext, type PageOptions } from '../command.context';
import { OperationFailed } from '../errors/cli.errors';
import type { Query } from '../http/api.client';
import { parseDuration } from '../input/duration.parse';
import { exactlyOne } from '../input/input.parse';
import { renderTimelineMarkdown } from '../timeline/timeline-markdown.format';
import { causationTree, FollowFormatter, formatTimelineTable } from '../timeline/timeline-table.format';
import type { TimelineEntry, TimelineSubject, TimelineSubjectKind } from '../timeline/timeline.types';

interface TimelineOptions extends PageOptions {
  run?: string;
  correlation?: string;
  workflow?: string;
  alert?: string;
  since?: string;
  format: 'table' | 'json' | 'markdown';
  follow?: boolean;
}

const SELECTORS: Record<TimelineSubjectKind, string> = {
  run: '--run',
  correlation: '--correlation',
  workflow: '--workflow',
  alert: '--alert',
};

/** Checks the selector and flags locally: exactly one subject, `--since` only for a workflow. */
export function timelineSubject(opts: TimelineOptions): TimelineSubject {
  const kind = exactlyOne<TimelineSubjectKind>(opts, SELECTORS);
  if (opts.since !== undefined) {
    if (kind !== 'workflow') {
      throw new ValidationError(`--since applies only to --workflow (a ${kind}'s timeline is already bounded)`, [
        { path: '--since', message: 'only with --workflow' },
      ]);
    }
    parseDuration(opts.since, '--since');
  }
  if (opts.follow && opts.format === 'markdown') {
    throw new ValidationError('--follow streams entries as they happen; use it with --format table or json, not markdown', [
      { path: '--follow', message: 'not with --format markdown' },
    ]);
  }
  return { kind, id: opts[kind]!, since: opts.since };
}

async function follow(ctx: CommandContext, query: Query, shown: TimelineEntry[], json: boolean): Promise<void> {
  const client = await ctx.client();
  const seen = new Set(shown.map((e) => e.id));
  const formatter = new FollowFormatter(ctx.out.color);
  formatter.seed(causationTree(shown));
  const last = shown[shown.length - 1];
  if (!json) ctx.out.note('following; Ctrl-C to stop');
  // `after` lets the gateway start the stream where the listing ended; ids dedupe any overlap.
  for await (const value of client.events('/timeline/stream', { ...query, after: last?.position })) {
    const entry = value as TimelineEntry;
    if (seen.has(entry.id)) continue;
    seen.add(entry.id);
    if (json) ctx.out.printJsonLine(entry);
    else ctx.out.line(formatter.line(entry));
  }
  if (!ctx.io.signal.aborted) throw new OperationFailed('the gateway closed the timeline stream');
}

export function registerTimelineCommand(program: Command, action: ActionFactory): void {
  paged(
    program
      .command('timeline')
      .description('the ordered story of a run, correlation, workflow or alert, across all services')
      .option('--run <run>', 'everything that happened to this run')
      .option('--correlation <id>', 'everything sharing this correlation id')
      .option('--workflow <id>', 'everything that happened to this workflow (see --since)')
      .option('--since <duration>', 'with --workflow: how far back (e.g. 1h, 7d)')
      .option('--alert <id>', 'the alert and what led to it')
      .addOption(new Option('--format <format>', 'table for people, json, or markdown for a postmortem').choices(['table', 'json', 'markdown']).default('table'))
      .option('--follow', 'after printing, keep streaming new entries until Ctrl-C'),
  )
    .addHelpText(
      'after',
      [
        '',
        'Give exactly one of --run, --correlation, --workflow, --alert.',
        'In the table an event is indented (└─) under the event that caused it.',
        '--format markdown fetches every page and adds time-to-detect / acknowledge / resolve.',
        'With --follow and --json (or --format json), entries print one JSON object a line.',
        '',
        'Examples:',
        '  steward timeline --run 0197a1b2-...',
        '  steward timeline --workflow supplier-prices --since 6h --follow',
        '  steward timeline --alert 42 --format markdown > postmortem-timeline.md',
      ].join('\n'),
    )
    .action(
      action<TimelineOptions>(async (ctx, _args, opts) => {
        const subject = timelineSubject(opts);
        const json = ctx.out.json || opts.format === 'json';
        const query: Query = { [subject.kind]: subject.id, since: subject.since };
        // A postmortem with only the first page would silently miss the end of the incident.
        const page = opts.format === 'markdown' ? { ...opts, all: true } : opts;
        const listing = await ctx.list<TimelineEntry>('/timeline', query, page);

        if (json && opts.follow) listing.items.forEach((e) => ctx.out.printJsonLine(e));
        else if (json) ctx.out.printJson(page.all ? { items: listing.items } : listing.first);
        else if (opts.format === 'markdown') {
          ctx.out.write(renderTimelineMarkdown(subject, listing.items, { generatedAt: ctx.io.now() }));
        } else if (listing.items.length === 0) ctx.out.line(`no events for ${subject.kind} ${subject.id}`);
        else ctx.out.line(formatTimelineTable(listing.items, { color: ctx.out.color }));

        if (!json && listing.next !== undefined) {
          ctx.out.note(`more events: run again with --cursor ${listing.next}, or add --all for everything`);
        }
        if (opts.follow) await follow(ctx, query, listing.items, json);
      }),
    );
}
