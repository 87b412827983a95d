import { Option, type Command } from 'commander';
import { idPath, paged, type ActionFactory, type PageOptions, type Row } from '../command.context';
import { bold, formatTime, type Column } from '../output/table.format';

const ROLES = ['viewer', 'operator', 'admin'];

const columns: Column<Row>[] = [
  { header: 'id', value: (r) => r.id },
  { header: 'name', value: (r) => r.name },
  { header: 'role', value: (r) => r.role },
  { header: 'teams', value: (r) => (Array.isArray(r.teams) ? r.teams.join(',') : '') },
  { header: 'created', value: (r) => formatTime(r.createdAt) },
  { header: 'created by', value: (r) => r.createdBy },
];

export function registerTokenCommands(program: Command, action: ActionFactory): void {
  const tokens = program.command('tokens').description('API tokens: who may use the gateway, and with which role');

  tokens
    .command('create')
    .description('create a token; it is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'what the token is for (e.g. ci-deploy)')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).makeOptionMandatory())
    .option('--team <team>', "a team the holder belongs to (repeatable); approval steps' approvers may name it", (t: string, all: string[]) => [...all, t], [] as string[])
    .action(
      action<{ name: string; role: string; team: string[] }>(async (ctx, _args, opts) => {
        await ctx.send<Row>('POST', '/tokens', { name: opts.name, role: opts.role, ...(opts.team.length > 0 && { teams: opts.team }) }, {
          service: 'gateway',
          done: (token) => {
            const { out } = ctx;
            out.line(`created token ${String(token.id)} "${String(token.name)}" with role ${String(token.role)}`);
            out.line('');
            out.line(`    ${bold(String(token.token), out.color)}`);
            out.line('');
            out.line('Copy it now: it is shown only this once. Use it as STEWARD_TOKEN or with --token.');
          },
        });
      }),
    );

  paged(tokens.command('list').description('list tokens (never their secrets)')).action(
    action<PageOptions>(async (ctx, _args, opts) => {
      ctx.printList(await ctx.list<Row>('/tokens', {}, opts), columns, 'no tokens', opts);
    }),
  );

  tokens
    .command('revoke')
    .description('revoke a token; requests using it are refused from now on')
    .argument('<id>', 'token id (from tokens list)')
    .action(
      action(async (ctx, [id]) => {
        await ctx.send('DELETE', `/tokens${idPath(id!)}`, undefined, {
          service: 'gateway',
          done: () => ctx.out.line(`revoked token ${id}`),
        });
      }),
    );
}
