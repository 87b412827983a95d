import { FakeGateway, steward, tempHome } from './fake-gateway.fixture';

// Bad input is caught before anything is sent: exit 2, a message saying what
// and where, and the gateway never sees a request.
describe('local input validation', () => {
  const gateway = new FakeGateway();
  const home = tempHome();
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = { STEWARD_API_URL: await gateway.start(), STEWARD_TOKEN: 't', XDG_CONFIG_HOME: home.dir };
  });
  afterEach(() => {
    expect(gateway.requests).toEqual([]);
  });
  afterAll(async () => {
    await gateway.stop();
    home.cleanup();
  });

  const cases: Array<[string, string[], RegExp]> = [
    ['two timeline selectors', ['timeline', '--run', 'r-1', '--workflow', 'w'], /give exactly one of --run, --correlation, --workflow, --alert, not --run and --workflow/],
    ['no timeline selector', ['timeline'], /give exactly one of --run, --correlation, --workflow, --alert/],
    ['--since on a run timeline', ['timeline', '--run', 'r-1', '--since', '1h'], /--since applies only to --workflow/],
    ['a bad --since duration', ['timeline', '--workflow', 'w', '--since', '1 hour'], /--since must be a duration like 30s, 5m, 1h or 30d; got '1 hour'/],
    ['a bad --timeout duration', ['runs', 'wait', 'r-1', '--timeout', '10'], /--timeout must be a duration/],
    ['a bad --for duration', ['alerts', 'silence', '--match', 'a=b', '--for', '2 hours'], /--for must be a duration/],
    ['a bad reports --since', ['reports', 'ops', '--since', 'month'], /--since must be a duration/],
    ['a bad costs --since', ['costs', 'report', '--by', 'owner', '--since', '0d'], /--since must be a duration/],
    ['bad --input JSON', ['runs', 'start', 'w', '--input', '{day: 1}'], /--input is not valid JSON: /],
    ['an unreadable --input file', ['runs', 'start', 'w', '--input', '@missing.json'], /cannot read --input missing\.json: no such file/],
    ['a missing --reason', ['dlq', 'discard', 'd-1'], /required option '--reason <text>' not specified/],
    ['an empty --reason', ['dlq', 'discard', 'd-1', '--reason', ' '], /--reason must say why/],
    ['dlq requeue without a selection', ['dlq', 'requeue'], /give exactly one of ID, filters \(--workflow, --step, --code, --since\) or --all$/m],
    ['dlq requeue with an ID and a filter', ['dlq', 'requeue', 'd-1', '--workflow', 'w'], /give exactly one of ID, .* or --all, not ID and --workflow/],
    ['dlq requeue with filters and --all', ['dlq', 'requeue', '--code', 'http_503', '--all'], /not --code and --all/],
    ['dlq discard with an ID and --all', ['dlq', 'discard', 'd-1', '--all', '--reason', 'x'], /not ID and --all/],
    ['dlq discard by filter without --reason', ['dlq', 'discard', '--workflow', 'w'], /required option '--reason <text>' not specified/],
    ['a bad dlq requeue --since', ['dlq', 'requeue', '--workflow', 'w', '--since', '1 day'], /--since must be a duration like 30s, 5m, 1h or 30d; got '1 day'/],
    ['a bad dlq list --since', ['dlq', 'list', '--since', 'yesterday'], /--since must be a duration/],
    ['an unreadable workflow file', ['workflows', 'apply', '-f', 'nope.yaml'], /cannot read -f nope\.yaml: no such file/],
    ['a directory as rules file', ['alerts', 'rules', 'apply', '-f', '.'], /cannot read -f \.: it is a directory/],
    ['an unreadable prices file', ['costs', 'prices', 'apply', '-f', 'prices.yaml'], /cannot read -f prices\.yaml: no such file/],
    ['both --source and --workflow', ['replay', 'start', '--source', 's', '--workflow', 'w', '--transform', 't@1'], /give exactly one of --source, --workflow, not --source and --workflow/],
    ['neither --source nor --workflow', ['replay', 'start', '--transform', 't@1'], /give exactly one of --source, --workflow/],
    ['a transform without version', ['replay', 'start', '--source', 's', '--transform', 'supplier-prices'], /--transform must look like NAME@VERSION/],
    ['a bad --from', ['replay', 'start', '--source', 's', '--transform', 't@1', '--from', 'last week'], /--from must be an ISO time/],
    ['--from after --to', ['replay', 'start', '--source', 's', '--transform', 't@1', '--from', '1h', '--to', '2h'], /--from .* must be before --to/],
    ['a --match without =', ['alerts', 'silence', '--match', 'workflow', '--for', '2h'], /--match must look like name=value/],
    ['a silence without --match', ['alerts', 'silence', '--for', '2h'], /give at least one --match/],
    ['a bad role', ['tokens', 'create', '--name', 'n', '--role', 'root'], /argument 'root' is invalid. Allowed choices are viewer, operator, admin/],
    ['a bad --format', ['timeline', '--run', 'r', '--format', 'html'], /Allowed choices are table, json, markdown/],
    ['markdown with --follow', ['timeline', '--run', 'r', '--format', 'markdown', '--follow'], /--follow streams entries as they happen/],
    ['budgets for both scopes', ['costs', 'budgets', 'set', '--workflow', 'w', '--owner', 'o', '--monthly-usd', '5'], /give exactly one of --workflow, --owner/],
    ['a negative budget', ['costs', 'budgets', 'set', '--owner', 'o', '--monthly-usd', '-5'], /--monthly-usd must be a positive number/],
    ['bad thresholds', ['costs', 'budgets', 'set', '--owner', 'o', '--monthly-usd', '5', '--thresholds', 'half'], /--thresholds must be fractions/],
    ['a bad --limit', ['runs', 'list', '--limit', 'lots'], /--limit must be a positive number/],
    ['an unknown command', ['runz'], /unknown command 'runz'/],
    ['a missing argument', ['runs', 'show'], /missing required argument 'run'/],
    ['a missing subcommand', ['dlq'], /Usage: steward dlq/],
  ];

  it.each(cases)('exits 2 on %s without calling the gateway', async (_name, args, message) => {
    const r = await steward(args, { env, cwd: __dirname });
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
