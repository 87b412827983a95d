import { steward, useFakeGateway } from '../fake-gateway.fixture';

describe('steward alerts', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('lists alerts of one state with their runbooks', async () => {
    gateway.on('GET', '/alerts', {
      status: 200,
      body: { items: [{ id: 'al-1', state: 'pending', severity: 'ticket', rule: 'duration_baseline', workflow: 'prices', owner: 'pricing-team', startsAt: '2026-05-01T10:00:00Z', summary: 'prices took 2s', runbook: 'docs/runbooks/duration-baseline.md' }] },
    });
    const r = await steward(['alerts', 'list', '--state', 'pending', '--workflow', 'prices'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect([gateway.requests[0]!.query.get('state'), gateway.requests[0]!.query.get('workflow')]).toEqual(['pending', 'prices']);
    expect(r.stdout).toMatch(/al-1\s+pending\s+ticket\s+duration_baseline\s+prices\s+pricing-team/);
    expect(r.stdout).toContain('docs/runbooks/duration-baseline.md');
  });

  it('names the silence the alerter created', async () => {
    gateway.on('POST', '/silences', { status: 200, body: { silenceId: 'si-1', endsAt: '2026-05-01T14:00:00Z', commandId: 'c-1' } });
    const r = await steward(['alerts', 'silence', '--match', 'workflow=prices', '--for', '2h', '--comment', 'maintenance'], { env: currentEnv() });
    expect(r.stdout).toBe('silence si-1 for 2h 0m (until 2026-05-01 14:00:00Z): workflow=prices\n');
    expect(gateway.requests[0]!.body).toEqual({ matchers: [{ name: 'workflow', value: 'prices' }], durationSeconds: 7200, comment: 'maintenance' });
  });

  it('lists and expires silences', async () => {
    gateway.on('GET', '/silences', {
      status: 200,
      body: { items: [{ id: 'si-1', state: 'expired', matchers: [{ name: 'workflow', value: 'prices' }, { name: 'severity', value: 'page', isEqual: false }], startsAt: '2026-05-01T10:00:00Z', endsAt: '2026-05-01T12:00:00Z', createdBy: 'ana', comment: 'maintenance' }] },
    });
    const list = await steward(['alerts', 'silences', 'list', '--state', 'all'], { env: currentEnv() });
    expect(gateway.requests[0]!.query.get('state')).toBe('all');
    expect(list.stdout).toMatch(/si-1\s+expired\s+workflow=prices, severity!=page/);
    gateway.on('POST', '/silences/si-1/expire', { status: 200, body: { silenceId: 'si-1' } });
    const expire = await steward(['alerts', 'silences', 'expire', 'si-1', '--reason', 'done early'], { env: currentEnv() });
    expect(expire.stdout).toBe('silence si-1 expired\n');
    expect(gateway.requests[1]!.body).toEqual({ reason: 'done early' });
  });

  it('lists the applied rules and receivers', async () => {
    gateway.on('GET', '/alert-rules', {
      status: 200,
      body: {
        items: [{ name: 'breaker', signal: 'consecutive_failures', severity: 'page', threshold: 3, workflows: ['prices'], for: 120000, keepFiringFor: 0, labels: {}, action: { type: 'pause_workflow' } }],
        receivers: [{ name: 'ops', channel: 'slack' }],
        appliedAt: '2026-05-01T10:00:00Z',
        appliedBy: 'ana',
        file: 'alerts.yaml',
        inhibitions: 0,
        escalations: 0,
      },
    });
    const r = await steward(['alerts', 'rules', 'list'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/breaker\s+consecutive_failures\s+page\s+3\s+prices\s+2m 0s\s+pause_workflow/);
    expect(r.stdout).toContain('receivers: ops (slack)');
    expect(r.stdout).toContain('by ana from alerts.yaml');
  });

  it('says how many rules a file applied, and when it matched the rules in force', async () => {
    // The alerter's outcome: alert.rules_applied, or command.accepted (no events) for an unchanged file.
    gateway.on('POST', '/alert-rules', { status: 200, body: { rules: [{ name: 'a' }, { name: 'b' }], hash: 'h', commandId: 'c-1', event: { id: 'e-1', type: 'alert.rules_applied', streamId: 'alert-rules' } } });
    const applied = await steward(['alerts', 'rules', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: `${__dirname}/../__fixtures__` });
    expect(applied.stdout).toBe('alert rules from wf.yaml applied (2 rules)\n');
    gateway.on('POST', '/alert-rules', { status: 200, body: { events: [], command: 'apply_alert_rules', service: 'alerter', commandId: 'c-2', event: { id: 'e-2', type: 'command.accepted', streamId: 'command-c-2' } } });
    const unchanged = await steward(['alerts', 'rules', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: `${__dirname}/../__fixtures__` });
    expect(unchanged).toMatchObject({ code: 0, stdout: 'alert rules unchanged: wf.yaml matches the rules in force\n' });
  });

  it('says when an alert already was acknowledged', async () => {
    gateway.on('POST', '/alerts/al-1/ack', { status: 200, body: { alertId: 'al-1', commandId: 'c-1', event: { id: 'e-1', type: 'alert.acknowledged', streamId: 'alert-al-1' } } });
    expect((await steward(['alerts', 'ack', 'al-1'], { env: currentEnv() })).stdout).toBe('alert al-1 acknowledged\n');
    gateway.on('POST', '/alerts/al-1/ack', { status: 200, body: { events: [], commandId: 'c-2', event: { id: 'e-2', type: 'command.accepted', streamId: 'command-c-2' } } });
    expect((await steward(['alerts', 'ack', 'al-1'], { env: currentEnv() })).stdout).toBe('alert al-1 was already acknowledged\n');
  });
});
