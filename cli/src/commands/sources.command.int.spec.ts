import { steward, useFakeGateway } from '../fake-gateway.fixture';

describe('steward sources and replay cancel', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('lists disabled sources with who switched them off and why', async () => {
    gateway.on('GET', '/sources', {
      status: 200,
      body: { items: [{ source: 'prices.fetch', workflowId: 'prices', disabled: true, automated: true, reason: 'alert source_failure_rate firing', changedBy: 'alerter', changedAt: '2026-05-01T10:00:00Z' }] },
    });
    const r = await steward(['sources', 'list', '--disabled'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(gateway.requests[0]!.query.get('disabled')).toBe('true');
    expect(r.stdout).toMatch(/prices\.fetch\s+disabled\s+alerter \(automated\)\s+2026-05-01 10:00:00Z\s+prices\s+alert source_failure_rate firing/);
  });

  it('disables and enables a source with the reason in the body', async () => {
    // The collector's outcome: collection.source_disabled / collection.source_enabled data.
    gateway.on('POST', '/sources/prices.fetch/disable', {
      status: 200,
      body: { source: 'prices.fetch', automated: false, disabledAt: '2026-05-01T10:00:00Z', disabledBy: 'ana', workflowId: 'prices', commandId: 'c-1', event: { id: 'e-1', type: 'collection.source_disabled', streamId: 'source-prices.fetch' } },
    });
    const off = await steward(['sources', 'disable', 'prices.fetch', '--reason', 'portal maintenance'], { env: currentEnv() });
    expect(off.stdout).toBe('source prices.fetch disabled\n');
    expect(gateway.requests[0]!.body).toEqual({ reason: 'portal maintenance' });
    gateway.on('POST', '/sources/prices.fetch/enable', {
      status: 200,
      body: { source: 'prices.fetch', trigger: 'command', enabledAt: '2026-05-01T11:00:00Z', enabledBy: 'ana', workflowId: 'prices', commandId: 'c-2', event: { id: 'e-2', type: 'collection.source_enabled', streamId: 'source-prices.fetch' } },
    });
    const on = await steward(['sources', 'enable', 'prices.fetch'], { env: currentEnv() });
    expect(on.stdout).toBe('source prices.fetch enabled\n');
    expect(gateway.requests[1]!.body).toEqual({});
  });

  it('says when nothing changed: the source already was enabled', async () => {
    gateway.on('POST', '/sources/prices.fetch/enable', { status: 200, body: { events: [], command: 'enable_source', service: 'collector', commandId: 'c-3', event: { id: 'e-3', type: 'command.accepted', streamId: 'command-c-3' } } });
    const r = await steward(['sources', 'enable', 'prices.fetch'], { env: currentEnv() });
    expect(r).toMatchObject({ code: 0, stdout: 'source prices.fetch was already enabled\n' });
  });

  it('says no source is disabled, not that none ever was, when --disabled finds none', async () => {
    gateway.on('GET', '/sources', { status: 200, body: { items: [] } });
    expect((await steward(['sources', 'list', '--disabled'], { env: currentEnv() })).stdout).toBe('no source is disabled\n');
    expect((await steward(['sources', 'list'], { env: currentEnv() })).stdout).toBe('no source was ever disabled\n');
  });

  it('says the collector is needed when it is not running (exit 1)', async () => {
    gateway.on('POST', '/sources/prices.fetch/disable', { status: 503, body: { error: { code: 'unavailable', message: 'the collector service is not running', context: { service: 'collector' } } } });
    const r = await steward(['sources', 'disable', 'prices.fetch'], { env: currentEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('collector');
  });

  it('cancels a replay', async () => {
    gateway.on('POST', '/replays/rp-1/cancel', { status: 200, body: { replayId: 'rp-1', commandId: 'c-3' } });
    const r = await steward(['replay', 'cancel', 'rp-1', '--reason', 'wrong transform'], { env: currentEnv() });
    expect(r.stdout).toBe('replay rp-1 cancelled\n');
    expect(gateway.requests[0]!.body).toEqual({ reason: 'wrong transform' });
  });
});
