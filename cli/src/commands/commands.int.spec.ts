import { send, steward, useFakeGateway } from '../fake-gateway.fixture';

describe('commands against the gateway', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('prints a new token once, prominently', async () => {
    gateway.on('POST', '/tokens', {
      status: 201,
      body: { id: 'tk-1', name: 'ci', role: 'operator', token: 'stw_secret_123', createdAt: '2026-05-01T10:00:00Z' },
    });
    const r = await steward(['tokens', 'create', '--name', 'ci', '--role', 'operator'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(gateway.requests[0]!.body).toEqual({ name: 'ci', role: 'operator' });
    expect(r.stdout).toBe(
      'created token tk-1 "ci" with role operator\n\n    stw_secret_123\n\n' +
        'Copy it now: it is shown only this once. Use it as STEWARD_TOKEN or with --token.\n',
    );
  });

  it('revokes a token with DELETE', async () => {
    // Ids are path-encoded, so odd ids cannot reach another route.
    gateway.on('DELETE', '/tokens/tk%201', { status: 204 });
    const r = await steward(['tokens', 'revoke', 'tk 1'], { env: currentEnv() });
    expect(r).toEqual({ code: 0, stdout: 'revoked token tk 1\n', stderr: '' });
  });

  it('lists tokens with who created them', async () => {
    // The gateway's token listing: no secrets, no last use.
    gateway.on('GET', '/tokens', {
      status: 200,
      body: { items: [{ id: 'a02e4e8486a7b222', name: 'ci', role: 'operator', teams: ['pricing-team'], createdAt: '2026-05-01T10:00:00.000Z', createdBy: 'ana', revokedAt: null }] },
    });
    const r = await steward(['tokens', 'list'], { env: currentEnv() });
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      'ID                NAME  ROLE      TEAMS         CREATED               CREATED BY',
      'a02e4e8486a7b222  ci    operator  pricing-team  2026-05-01 10:00:00Z  ana',
    ]);
  });

  it('names the workflow and version a file applied, and says when the file changed nothing', async () => {
    // The scheduler's outcome: workflow.applied, or command.accepted (no events) when the hash matches the current version.
    gateway.on('POST', '/workflows', {
      status: 200,
      body: { id: 'supplier-prices', version: 4, hash: 'h', owner: 'pricing-team', runbook: 'r', definition: {}, file: 'wf.yaml', appliedAt: '2026-05-01T10:00:00Z', commandId: 'c-1', event: { id: 'e-1', type: 'workflow.applied', streamId: 'workflow-supplier-prices' } },
    });
    const applied = await steward(['workflows', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: `${__dirname}/../__fixtures__` });
    expect(applied).toMatchObject({ code: 0, stdout: 'workflow supplier-prices (version 4) applied\n' });
    gateway.on('POST', '/workflows', { status: 200, body: { events: [], command: 'apply_workflow', service: 'scheduler', commandId: 'c-2', event: { id: 'e-2', type: 'command.accepted', streamId: 'command-c-2' } } });
    const unchanged = await steward(['workflows', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: `${__dirname}/../__fixtures__` });
    expect(unchanged).toMatchObject({ code: 0, stdout: 'workflow supplier-prices unchanged: wf.yaml matches its current version\n' });
  });

  it('says when a pause or a cancel changed nothing', async () => {
    gateway.on('POST', '/workflows/prices/pause', { status: 200, body: { id: 'prices', pausedAt: '2026-05-01T10:00:00Z', commandId: 'c-1', event: { id: 'e-1', type: 'workflow.paused', streamId: 'workflow-prices' } } });
    expect((await steward(['workflows', 'pause', 'prices'], { env: currentEnv() })).stdout).toBe('workflow prices paused\n');
    const accepted = { events: [], commandId: 'c-2', event: { id: 'e-2', type: 'command.accepted', streamId: 'command-c-2' } };
    gateway.on('POST', '/workflows/prices/pause', { status: 200, body: accepted });
    expect((await steward(['workflows', 'pause', 'prices'], { env: currentEnv() })).stdout).toBe('workflow prices was already paused\n');
    gateway.on('POST', '/runs/r-1/cancel', { status: 200, body: accepted });
    expect((await steward(['runs', 'cancel', 'r-1'], { env: currentEnv() })).stdout).toBe('run r-1 was already cancelled\n');
  });

  it('lists runs with sub-second durations, and a queued run by when it was requested', async () => {
    // The gateway's run items: startedAt, endedAt and durationMs are null until the run starts and ends.
    gateway.on('GET', '/runs', {
      status: 200,
      body: {
        items: [
          { id: 'r-2', workflow: 'fx', status: 'queued', trigger: 'manual', requestedAt: '2026-05-01T11:00:00.000Z', startedAt: null, endedAt: null, durationMs: null },
          { id: 'r-1', workflow: 'fx', status: 'succeeded', trigger: 'schedule', requestedAt: '2026-05-01T10:00:00.000Z', startedAt: '2026-05-01T10:00:00.000Z', endedAt: '2026-05-01T10:00:00.241Z', durationMs: 241 },
        ],
      },
    });
    const r = await steward(['runs', 'list'], { env: currentEnv() });
    expect(r.stdout.split('\n').slice(1, 3)).toEqual([
      'r-2  fx        queued     manual    2026-05-01 11:00:00Z         -',
      'r-1  fx        succeeded  schedule  2026-05-01 10:00:00Z     241ms',
    ]);
  });

  it('follows the cursor with --all and merges the pages', async () => {
    gateway.on('GET', '/approvals', (req, res) => {
      const cursor = req.query.get('cursor');
      if (cursor === null) send(res, 200, { items: [{ run: 'r-1', step: 'approve' }], next: 'b' });
      else if (cursor === 'b') send(res, 200, { items: [{ run: 'r-2', step: 'approve' }], next: 'c' });
      else send(res, 200, { items: [{ run: 'r-3', step: 'approve' }] });
    });
    const table = await steward(['approvals', 'list', '--all'], { env: currentEnv() });
    expect(table.code).toBe(0);
    expect(table.stdout.match(/^r-\d/gm)).toEqual(['r-1', 'r-2', 'r-3']);
    expect(table.stderr).toBe('');
    const json = await steward(['approvals', 'list', '--all', '--json'], { env: currentEnv() });
    expect(JSON.parse(json.stdout).items).toHaveLength(3);
  });

  it('approves and rejects with a comment', async () => {
    gateway.on('POST', '/approvals/r-1/big-change/approve', { status: 200, body: { ok: true } });
    const r = await steward(['approvals', 'approve', 'r-1', 'big-change', '--comment', 'checked with finance'], { env: currentEnv() });
    expect(r.stdout).toBe('approved step big-change of run r-1\n');
    expect(gateway.requests[0]!.body).toEqual({ comment: 'checked with finance' });
  });

  it('starts a run with JSON input', async () => {
    // What the gateway answers: the schedule.run_requested the command caused (e2e/scheduler-process checks the real one).
    gateway.on('POST', '/runs', {
      status: 200,
      body: { runId: 'r-9', workflowId: 'supplier-prices', version: 3, trigger: { kind: 'manual' }, commandId: 'c-1', event: { id: 'e-1', type: 'schedule.run_requested', streamId: 'manual-r-9' } },
    });
    const r = await steward(['runs', 'start', 'supplier-prices', '--input', '{"day":"2026-05-01"}'], { env: currentEnv() });
    expect(r.stdout).toBe('started run r-9 of supplier-prices (version 3)\n');
    expect(gateway.requests[0]!.body).toEqual({ workflow: 'supplier-prices', input: { day: '2026-05-01' } });
  });

  it('silences with matchers and a duration in seconds', async () => {
    gateway.on('POST', '/silences', { status: 201, body: { id: 's-1', endsAt: '2026-05-01T14:00:00Z' } });
    const r = await steward(['alerts', 'silence', '--match', 'workflow=supplier-prices', '--match', 'severity=page', '--for', '2h'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(gateway.requests[0]!.body).toEqual({
      matchers: [
        { name: 'workflow', value: 'supplier-prices' },
        { name: 'severity', value: 'page' },
      ],
      durationSeconds: 7200,
    });
    expect(r.stdout).toBe('silence s-1 for 2h 0m (until 2026-05-01 14:00:00Z): workflow=supplier-prices, severity=page\n');
  });

  it('sets a budget with PUT on its scope', async () => {
    gateway.on('PUT', '/budgets/owner/pricing-team', { status: 200, body: {} });
    const r = await steward(['costs', 'budgets', 'set', '--owner', 'pricing-team', '--monthly-usd', '40', '--thresholds', '50%,80%,100%'], { env: currentEnv() });
    expect(r.stdout).toBe('budget of owner pricing-team set to $40.00 a month\n');
    expect(gateway.requests[0]!.body).toEqual({ monthlyUsd: 40, thresholds: [0.5, 0.8, 1] });
  });

  it('reports costs by group', async () => {
    gateway.on('GET', '/costs/report', {
      status: 200,
      body: { items: [{ key: 'supplier-prices', usd: 12.5, runs: 100, usdPerRun: 0.125 }], totalUsd: 12.5 },
    });
    const r = await steward(['costs', 'report', '--by', 'workflow'], { env: currentEnv() });
    expect(Object.fromEntries(gateway.requests[0]!.query)).toEqual({ by: 'workflow', since: '30d' });
    expect(r.stdout).toMatch(/supplier-prices\s+\$12\.50\s+100\s+\$0\.13/);
    expect(r.stdout).toContain('total $12.50 by workflow over 30d');
  });

  it('renders the ops report and says which parts are missing because of which service', async () => {
    gateway.on('GET', '/reports/ops', {
      status: 200,
      body: {
        since: '7d',
        mttd: { meanSeconds: 120, incidents: 3 },
        successRate: { overall: 0.98 },
        alertVolume: { perDay: 1.6666666666666667, nonCriticalPerDay: 0.23333333333333334 },
        missing: [{ part: 'capacity', service: 'executor' }],
      },
    });
    const r = await steward(['reports', 'ops', '--since', '7d'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Operations report, last 7d');
    expect(r.stdout).toContain('MTTD (mean time to detect)\n  meanSeconds: 120\n  incidents:   3');
    // Averages to two decimals, not 0.23333333333333334.
    expect(r.stdout).toMatch(/perDay:\s+1\.67\n/);
    expect(r.stdout).toMatch(/nonCriticalPerDay:\s+0\.23\n/);
    expect(r.stdout).toContain('Capacity: needs the executor service, which is not running');
  });

  it('verify prints each check and exits 1 when the stores disagree', async () => {
    gateway.on('GET', '/verify', {
      status: 200,
      body: {
        ok: false,
        checks: [
          { name: 'store-vs-jetstream', ok: true, detail: '10432 events match' },
          { name: 'runs-projection', ok: false, detail: 'run r-7: projection says running, stream says failed' },
        ],
      },
    });
    const r = await steward(['verify', '--since', '1d'], { env: currentEnv() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ok\s+store-vs-jetstream\s+10432 events match/);
    expect(r.stdout).toMatch(/FAIL\s+runs-projection\s+run r-7/);
    expect(r.stdout).toContain('INCONSISTENT: 1 of 2 checks failed');
    expect(r.stderr).toBe('error: verification failed: runs-projection\n');
    expect(gateway.requests[0]!.query.get('since')).toBe('1d');
  });

  it('verify exits 0 when consistent', async () => {
    gateway.on('GET', '/verify', { status: 200, body: { ok: true, checks: [{ name: 'a', ok: true, detail: 'fine' }] } });
    const r = await steward(['verify'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('consistent: all 1 checks passed');
  });

  it('lists dead letters with filters', async () => {
    gateway.on('GET', '/dlq', { status: 200, body: { items: [{ id: 'r-1:fetch', workflow: 'prices', run: 'r-1', step: 'fetch', attempts: 3, deadLetteredAt: '2026-05-01T10:00:00Z', error: 'http_503: down' }] } });
    const r = await steward(['dlq', 'list', '--workflow', 'prices', '--step', 'fetch', '--code', 'http_503', '--since', '24h'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(Object.fromEntries(gateway.requests[0]!.query)).toEqual({ workflow: 'prices', step: 'fetch', code: 'http_503', since: '24h' });
    expect(r.stdout).toMatch(/r-1:fetch\s+prices\s+r-1\s+fetch\s+3/);
  });

  it('requeues dead letters by filter with one request and prints the summary', async () => {
    gateway.on('POST', '/dlq/requeue', { status: 200, body: { matched: 12, requeued: 11, skipped: [{ id: 'r-9:fetch', reason: 'already requeued' }], truncated: false, commandId: 'c-1' } });
    const r = await steward(['dlq', 'requeue', '--workflow', 'prices', '--code', 'http_503', '--since', '24h', '--reason', 'portal is back'], { env: currentEnv() });
    expect(r).toEqual({ code: 0, stdout: 'requeued 11 of 12 dead letters; skipped 1\n  skipped r-9:fetch: already requeued\n', stderr: '' });
    expect(gateway.requests[0]!.body).toEqual({ filter: { workflow: 'prices', code: 'http_503', since: '24h' }, reason: 'portal is back' });
  });

  it('requeues every dead letter only with --all, and says when one request did not take them all', async () => {
    gateway.on('POST', '/dlq/requeue', { status: 200, body: { matched: 500, requeued: 500, skipped: [], truncated: true } });
    const r = await steward(['dlq', 'requeue', '--all'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('requeued 500 of 500 dead letters; skipped 0\n');
    expect(r.stderr).toMatch(/run the command again for the rest/);
    expect(gateway.requests[0]!.body).toEqual({ filter: {}, all: true });
  });

  it('discards by filter with the reason, and one dead letter by ID as before', async () => {
    gateway.on('POST', '/dlq/discard', { status: 200, body: { matched: 2, discarded: 2, skipped: [], truncated: false } });
    gateway.on('POST', '/dlq/r-1%3Afetch/discard', { status: 200, body: { commandId: 'c-2' } });
    const many = await steward(['dlq', 'discard', '--step', 'fetch', '--reason', 'rows are garbage'], { env: currentEnv() });
    expect(many.stdout).toBe('discarded 2 of 2 dead letters; skipped 0\n');
    expect(gateway.requests[0]!.body).toEqual({ filter: { step: 'fetch' }, reason: 'rows are garbage' });
    const one = await steward(['dlq', 'discard', 'r-1:fetch', '--reason', 'rows are garbage'], { env: currentEnv() });
    expect(one.stdout).toBe('discarded r-1:fetch\n');
    expect(gateway.requests[1]!.body).toEqual({ reason: 'rows are garbage' });
  });

  it('lists a dataset quarantine', async () => {
    gateway.on('GET', '/datasets/prices/quarantine', {
      status: 200,
      body: { items: [{ id: 'q-1', captureId: 'cap-3', transform: 'supplier-prices@2', path: 'rows[4].price', reason: 'not a number' }] },
    });
    const r = await steward(['datasets', 'quarantine', 'prices'], { env: currentEnv() });
    expect(r.stdout).toMatch(/q-1\s+cap-3\s+supplier-prices@2\s+rows\[4\]\.price\s+not a number/);
  });

  it('explains each area in its help', async () => {
    const root = await steward(['--help'], { env: currentEnv() });
    expect(root.code).toBe(0);
    for (const area of ['workflows', 'runs', 'approvals', 'dlq', 'replay', 'timeline', 'alerts', 'costs', 'reports', 'verify', 'tokens', 'datasets']) {
      expect(root.stdout).toMatch(new RegExp(`^  ${area}\\b`, 'm'));
    }
    expect(root.stdout).toContain('0 success   1 operation failed   2 bad input   3 not authorised   4 not found');
    const runs = await steward(['runs', '--help'], { env: currentEnv() });
    expect(runs.stdout).toMatch(/wait \[options\] <run>/);
    expect(runs.stdout).toContain('--json');
    const timeline = await steward(['timeline', '--help'], { env: currentEnv() });
    expect(timeline.stdout).toContain('Give exactly one of --run, --correlation, --workflow, --alert.');
    expect(gateway.requests).toHaveLength(0);
  });
});
