import type { Command } from 'commander';
import { ValidationError } from '@steward/contracts';
import { changedNothing, idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { formatDuration, parseDuration } from '../input/duration.parse';
import { parseMatcher, readInputFile } from '../input/input.parse';
import { formatTable, formatTime, statusColor, type Column } from '../output/table.format';

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'state', value: (r) => r.state, style: (t) => statusColor(t, true) },
  { header: 'severity', value: (r) => r.severity },
  { header: 'rule', value: (r) => r.rule ?? r.name },
  { header: 'workflow', value: (r) => r.workflow },
  { header: 'owner', value: (r) => r.owner },
  { header: 'since', value: (r) => formatTime(r.firedAt ?? r.startsAt) },
  { header: 'summary', value: (r) => r.summary, max: 50 },
  { header: 'runbook', value: (r) => r.runbook, max: 50 },
];

const silenceColumns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'state', value: (r) => r.state },
  { header: 'matchers', value: (r) => (Array.isArray(r.matchers) ? (r.matchers as Row[]).map((m) => `${String(m.name)}${m.isEqual === false ? '!' : ''}${m.isRegex ? '=~' : '='}${String(m.value)}`).join(', ') : '') },
  { header: 'starts', value: (r) => formatTime(r.startsAt) },
  { header: 'ends', value: (r) => formatTime(r.endsAt) },
  { header: 'by', value: (r) => r.createdBy },
  { header: 'comment', value: (r) => r.comment, max: 40 },
];

const ruleColumns: Column<Row>[] = [
  { header: 'name', value: (r) => r.name },
  { header: 'signal', value: (r) => r.signal },
  { header: 'severity', value: (r) => r.severity },
  { header: 'threshold', value: (r) => r.threshold, align: 'right' },
  { header: 'workflows', value: (r) => (Array.isArray(r.workflows) ? r.workflows.join(',') : 'all') },
  { header: 'for', value: (r) => (typeof r.for === 'number' && r.for > 0 ? formatDuration(r.for) : '-') },
  { header: 'action', value: (r) => (r.action && typeof r.action === 'object' ? String((r.action as Row).type) : '-') },
];

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerAlertCommands(program: Command, action: ActionFactory): void {
  const alerts = program.command('alerts').description('alerts: list, acknowledge, resolve, silence, and alert rules');

  paged(
    alerts
      .command('list')
      .description('list alerts with their runbooks')
      .option('--state <state>', 'only alerts in this state (pending, firing, acknowledged, resolved)')
      .option('--workflow <id>', 'only alerts of this workflow'),
  ).action(
    action<PageOptions & { state?: string; workflow?: string }>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/alerts', { state: opts.state, workflow: opts.workflow }, opts), columns, 'no alerts', opts);
    }),
  );

  for (const verb of ['ack', 'resolve'] as const) {
    alerts
      .command(verb)
      .description(verb === 'ack' ? 'acknowledge an alert: someone is on it' : 'mark an alert resolved')
      .argument('<id>', 'alert id')
      .action(
        action(async (ctx, [id]) => {
          await ctx.send('POST', `/alerts${idPath(id!, verb)}`, {}, {
            service: 'alerter',
            done: (outcome) => {
              const state = verb === 'ack' ? 'acknowledged' : 'resolved';
              ctx.out.line(changedNothing(outcome) ? `alert ${id} was already ${state}` : `alert ${id} ${state}`);
            },
          });
        }),
      );
  }

  alerts
    .command('silence')
    .description('silence alerts whose labels match, for a while')
    .option('--match <name=value>', 'label to match; repeat for several (all must match)', collect)
    .requiredOption('--for <duration>', 'how long (e.g. 30m, 2h, 1d)')
    .option('--comment <text>', 'why; shown with the silence')
    .addHelpText('after', '\nExample:\n  steward alerts silence --match workflow=supplier-prices --match severity=warning --for 2h')
    .action(
      action<{ match?: string[]; for: string; comment?: string }>(async (ctx, _args, opts) => {
        if (!opts.match || opts.match.length === 0) {
          throw new ValidationError('give at least one --match name=value', [{ path: '--match', message: 'missing' }]);
        }
        const matchers = opts.match.map((m) => parseMatcher(m));
        const durationSeconds = parseDuration(opts.for, '--for') / 1000;
        await ctx.send<Row>('POST', '/silences', { matchers, durationSeconds, comment: opts.comment }, {
          service: 'alerter',
          done: (s) =>
            ctx.out.line(
              `silence ${String(s.silenceId ?? s.id ?? '')} for ${formatDuration(durationSeconds * 1000)}` +
                `${s.endsAt ? ` (until ${formatTime(s.endsAt)})` : ''}: ${matchers.map((m) => `${m.name}=${m.value}`).join(', ')}`,
            ),
        });
      }),
    );

  const silences = alerts.command('silences').description('silences: list them (expired ones are kept), or end one now');
  paged(
    silences
      .command('list')
      .description('list silences (active by default)')
      .option('--state <state>', 'active, expired or all', 'active'),
  ).action(
    action<PageOptions & { state: string }>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/silences', { state: opts.state }, opts), silenceColumns, 'no silences', opts);
    }),
  );
  silences
    .command('expire')
    .description('end a silence now')
    .argument('<id>', 'silence id')
    .option('--reason <text>', 'why; recorded in the timeline')
    .action(
      action<{ reason?: string }>(async (ctx, [id], opts) => {
        await ctx.send('POST', `/silences${idPath(id!, 'expire')}`, opts.reason === undefined ? {} : { reason: opts.reason }, {
          service: 'alerter',
          done: () => ctx.out.line(`silence ${id} expired`),
        });
      }),
    );

  const rules = alerts.command('rules').description('alert rules');
  rules
    .command('list')
    .description('list the applied alert rules, receivers, inhibitions and escalations')
    .action(
      action(async (ctx) => {
        await ctx.show<Row>('/alert-rules', undefined, (body) => {
          const items = Array.isArray(body.items) ? (body.items as Row[]) : [];
          if (items.length === 0) ctx.out.line('no alert rules applied (built-in rules still run)');
          else ctx.out.line(formatTable(ruleColumns, items, { color: ctx.out.color }));
          const receivers = Array.isArray(body.receivers) ? (body.receivers as Row[]) : [];
          if (receivers.length > 0) ctx.out.line(`receivers: ${receivers.map((r) => `${String(r.name)} (${String(r.channel)})`).join(', ')}`);
          if (typeof body.appliedAt === 'string') ctx.out.line(`applied ${formatTime(body.appliedAt)}${typeof body.appliedBy === 'string' ? ` by ${body.appliedBy}` : ''}${typeof body.file === 'string' ? ` from ${body.file}` : ''}`);
        });
      }),
    );
  rules
    .command('apply')
    .description('create or update alert rules from a YAML file')
    .requiredOption('-f, --file <file>', 'alert rules YAML file')
    .action(
      action<{ file: string }>(async (ctx, _args, opts) => {
        const yaml = await readInputFile(opts.file, ctx.io.cwd, '-f');
        await ctx.send<Row>('POST', '/alert-rules', { yaml, file: opts.file }, {
          service: 'alerter',
          // The outcome is alert.rules_applied (its rules), or command.accepted when the file matches the rules in force.
          done: (r) => {
            if (changedNothing(r)) {
              ctx.out.line(`alert rules unchanged: ${opts.file} matches the rules in force`);
              return;
            }
            const count = Array.isArray(r.rules) ? ` (${r.rules.length} rules)` : typeof r.count === 'number' ? ` (${r.count} rules)` : '';
            ctx.out.line(`alert rules from ${opts.file} applied${count}`);
          },
        });
      }),
    );
}
