import { steward, useFakeGateway } from '../fake-gateway.fixture';

describe('datasets and replay diff commands', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('promotes a dataset version with its reason and says what changed', async () => {
    gateway.on('POST', '/datasets/supplier-prices/promote', {
      status: 200,
      body: { dataset: 'supplier-prices', version: 2, previousVersion: 1, actor: 'alice', commandId: 'c-1', event: { id: 'e-1', type: 'dataset.version_promoted', streamId: 'dataset-supplier-prices' } },
    });
    const r = await steward(['datasets', 'promote', 'supplier-prices', '2', '--reason', 'minor units'], { env: currentEnv() });
    expect(r).toEqual({ code: 0, stdout: 'dataset supplier-prices version 2 is current (was 1)\n', stderr: '' });
    expect(gateway.requests[0]!.body).toEqual({ version: 2, reason: 'minor units' });
  });

  it('refuses a version that is not a whole positive number before calling the gateway', async () => {
    const r = await steward(['datasets', 'promote', 'supplier-prices', 'two'], { env: currentEnv() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("VERSION must be a positive number; got 'two'");
    expect(gateway.requests).toHaveLength(0);
  });

  it('shows a dataset with a table of its versions', async () => {
    gateway.on('GET', '/datasets/supplier-prices', {
      status: 200,
      body: { id: 'supplier-prices', currentVersion: 1, records: 3, versions: [{ version: 1, current: true, transform: 'supplier-prices@1', rows: 3, quarantined: 1, captures: 2 }, { version: 2, current: false, transform: 'supplier-prices@2', rows: 4, quarantined: 0, captures: 2, replayId: 'rp-1' }] },
    });
    const r = await steward(['datasets', 'show', 'supplier-prices'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 \*\s+supplier-prices@1\s+3\s+1\s+2/);
    expect(r.stdout).toMatch(/2\s+supplier-prices@2\s+4\s+0\s+2\s+rp-1/);
  });

  it('prints a replay diff summary, and the whole answer with --json', async () => {
    const body = {
      replayId: 'rp-1',
      transform: 'supplier-prices@2',
      dataset: 'supplier-prices',
      version: 2,
      baseVersion: 1,
      dryRun: false,
      status: 'completed',
      processed: 2,
      total: 2,
      counts: { rows: 2, upserted: 2, unchanged: 0, quarantined: 0 },
      summary: { added: 1, changed: 0, removed: 0, unchanged: 1, quarantined: { new: 0, base: 0 } },
      rows: [{ key: 'AB-9', change: 'added', new: { sku: 'AB-9' } }],
      truncated: false,
    };
    gateway.on('GET', '/replays/rp-1/diff', { status: 200, body });
    const text = await steward(['replay', 'diff', 'rp-1'], { env: currentEnv() });
    expect(text.stdout).toContain('replay rp-1 completed: supplier-prices@2 -> supplier-prices v2 against v1 (2/2 captures)\n  added        1\n');
    expect(gateway.requests[0]!.query.get('limit')).toBe('20');
    const json = await steward(['replay', 'diff', 'rp-1', '--json'], { env: currentEnv() });
    expect(JSON.parse(json.stdout)).toEqual(body);
  });
});
