import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { apiError, send, steward, useFakeGateway } from './fake-gateway.fixture';

// The operator contract's exit codes, against a real HTTP server playing the gateway.
describe('gateway responses and exit codes', () => {
  const { gateway, env: currentEnv } = useFakeGateway('tok-1');

  it('exits 0 and prints an aligned table without colour when not a terminal', async () => {
    gateway.on('GET', '/runs', {
      status: 200,
      body: {
        items: [
          { id: 'run-1', workflow: 'supplier-prices', status: 'succeeded', trigger: 'schedule', startedAt: '2026-05-01T10:00:00Z', endedAt: '2026-05-01T10:01:05Z' },
          { id: 'run-22', workflow: 'fx', status: 'failed', trigger: 'manual', startedAt: '2026-05-01T11:00:00Z' },
        ],
      },
    });
    const r = await steward(['runs', 'list', '--workflow', 'supplier-prices', '--status', 'failed'], { env: currentEnv() });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      'ID      WORKFLOW         STATUS     TRIGGER   STARTED               DURATION',
      'run-1   supplier-prices  succeeded  schedule  2026-05-01 10:00:00Z     1m 5s',
      'run-22  fx               failed     manual    2026-05-01 11:00:00Z         -',
    ]);
    expect(r.stdout).not.toContain('\u001b[');
    expect(gateway.requests[0]!.query.get('workflow')).toBe('supplier-prices');
    expect(gateway.requests[0]!.query.get('status')).toBe('failed');
    expect(gateway.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  it('exits 2 on 400 and prints every issue with its YAML path', async () => {
    gateway.on('POST', '/workflows', {
      status: 400,
      body: apiError('validation', 'workflow.yaml is not a valid workflow', {
        issues: [
          { path: 'steps[2].retry.maxAttempts', message: 'must be at least 1' },
          { path: 'schedule.cron', message: 'not a cron expression' },
        ],
      }),
    });
    const r = await steward(['workflows', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: fixtures() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: workflow.yaml is not a valid workflow');
    expect(r.stderr).toContain('  steps[2].retry.maxAttempts: must be at least 1\n');
    expect(r.stderr).toContain('  schedule.cron: not a cron expression\n');
    expect(gateway.requests[0]!.body).toEqual({ yaml: 'id: supplier-prices\n', file: 'wf.yaml' });
  });

  it('prints each issue once when the message already lists them', async () => {
    // The gateway's own wording: the message names the problems (with YAML lines), the issues repeat them without.
    gateway.on('POST', '/workflows', {
      status: 400,
      body: apiError('validation', 'wf.yaml is invalid (2 problems):\n  retry.maxAttempts: expected a positive integer, got 0 (line 4)\n  steps[1].needs[0]: unknown step "zzz" (line 9)', {
        issues: [
          { path: 'retry.maxAttempts', message: 'expected a positive integer, got 0' },
          { path: 'steps[1].needs[0]', message: 'unknown step "zzz"' },
        ],
      }),
    });
    const r = await steward(['workflows', 'apply', '-f', 'wf.yaml'], { env: currentEnv(), cwd: fixtures() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: wf.yaml is invalid (2 problems):\n  retry.maxAttempts: expected a positive integer, got 0 (line 4)\n  steps[1].needs[0]: unknown step "zzz" (line 9)\n');
  });

  it('exits 3 on 401 and says how to give a token', async () => {
    gateway.on('GET', '/workflows', { status: 401, body: apiError('unauthorised', 'missing or invalid token') });
    const r = await steward(['workflows', 'list'], { env: currentEnv() });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: the token was refused; set STEWARD_TOKEN or run with --token\n');
  });

  it("exits 3 on 403 naming the token's role and the role needed", async () => {
    gateway.on('POST', '/tokens', {
      status: 403,
      body: apiError('forbidden', 'admin only', { context: { role: 'operator', required: 'admin' } }),
    });
    const r = await steward(['tokens', 'create', '--name', 'ci', '--role', 'viewer'], { env: currentEnv() });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("error: your token's role (operator) cannot do this; needs admin\n");
  });

  it('exits 4 on 404', async () => {
    gateway.on('GET', '/runs/nope', { status: 404, body: apiError('not_found', 'run nope not found') });
    const r = await steward(['runs', 'show', 'nope'], { env: currentEnv() });
    expect(r).toMatchObject({ code: 4, stderr: 'error: run nope not found\n' });
  });

  it('exits 1 on 503 naming the service that is not running', async () => {
    gateway.on('POST', '/runs/r-1/cancel', {
      status: 503,
      body: apiError('unavailable', 'no answer', { context: { service: 'executor' } }),
    });
    const r = await steward(['runs', 'cancel', 'r-1'], { env: currentEnv() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: needs the executor service, which is not running\n');
  });

  it('exits 1 on 409 and on 500', async () => {
    gateway.on('POST', '/workflows/w/pause', { status: 409, body: apiError('illegal_state', 'workflow w is already paused') });
    gateway.on('POST', '/workflows/w/resume', { status: 500, body: apiError('internal', 'boom') });
    expect(await steward(['workflows', 'pause', 'w'], { env: currentEnv() })).toMatchObject({ code: 1, stderr: 'error: workflow w is already paused\n' });
    expect(await steward(['workflows', 'resume', 'w'], { env: currentEnv() })).toMatchObject({ code: 1, stderr: 'error: the gateway failed: boom\n' });
  });

  it('exits 1 when the gateway cannot be reached, naming its URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await steward(['runs', 'list'], { env: { ...currentEnv(), STEWARD_API_URL: url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot reach the Steward gateway at ${url}: .*ECONNREFUSED.*\\. Is it running\\? \\(\\./dev up\\)\\n$`));
  });

  it('exits 0 on 202 pending, saying the owning service has not answered', async () => {
    gateway.on('POST', '/dlq/d-1/requeue', { status: 202, body: { status: 'pending', commandId: 'cmd-9', service: 'executor' } });
    gateway.on('POST', '/alerts/a-1/ack', { status: 202, body: { status: 'pending', commandId: 'cmd-10' } });
    expect(await steward(['dlq', 'requeue', 'd-1', '--reason', 'fixed upstream'], { env: currentEnv() })).toEqual({
      code: 0,
      stdout: 'accepted; the executor service has not answered yet (command cmd-9)\n',
      stderr: '',
    });
    expect(gateway.requests[0]!.body).toEqual({ reason: 'fixed upstream' });
    const ack = await steward(['alerts', 'ack', 'a-1'], { env: currentEnv() });
    expect(ack.stdout).toBe('accepted; the alerter service has not answered yet (command cmd-10)\n');
  });

  describe('--json', () => {
    it('prints the raw response body', async () => {
      const body = { items: [{ id: 'd-1', workflow: 'w', attempts: 3 }], next: 'c2' };
      gateway.on('GET', '/dlq', { status: 200, body });
      const r = await steward(['dlq', 'list', '--json'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(body);
      expect(r.stderr).toBe('');
    });

    it('prints errors as JSON on stderr with the same exit codes', async () => {
      const error = apiError('forbidden', 'admin only', { context: { role: 'viewer', required: 'operator' } });
      gateway.on('POST', '/dlq/d-1/discard', { status: 403, body: error });
      gateway.on('GET', '/datasets/x', { status: 404, body: apiError('not_found', 'dataset x not found') });
      const denied = await steward(['--json', 'dlq', 'discard', 'd-1', '--reason', 'dup'], { env: currentEnv() });
      expect(denied.code).toBe(3);
      expect(denied.stdout).toBe('');
      expect(JSON.parse(denied.stderr)).toEqual(error);
      const missing = await steward(['datasets', 'show', 'x', '--json'], { env: currentEnv() });
      expect(missing.code).toBe(4);
      expect(JSON.parse(missing.stderr).error.code).toBe('not_found');
    });

    it('prints local bad input and unreachable gateways as JSON errors too', async () => {
      const bad = await steward(['runs', 'wait', 'r', '--timeout', 'soon', '--json'], { env: currentEnv() });
      expect(bad.code).toBe(2);
      expect(JSON.parse(bad.stderr).error).toMatchObject({ code: 'validation', issues: [{ path: '--timeout' }] });
      const url = `http://127.0.0.1:${await closedPort()}`;
      const down = await steward(['verify', '--json'], { env: { ...currentEnv(), STEWARD_API_URL: url } });
      expect(down.code).toBe(1);
      expect(JSON.parse(down.stderr).error).toMatchObject({ code: 'unavailable', context: { url } });
      const usage = await steward(['runs', 'frobnicate', '--json'], { env: currentEnv() });
      expect(usage.code).toBe(2);
      expect(JSON.parse(usage.stderr).error.message).toContain("unknown command 'frobnicate'");
    });

    it('keeps the 202 body as is', async () => {
      gateway.on('POST', '/runs', { status: 202, body: { status: 'pending', commandId: 'c-1' } });
      const r = await steward(['runs', 'start', 'w', '--json'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ status: 'pending', commandId: 'c-1' });
    });
  });

  describe('runs wait', () => {
    it('passes the timeout and exits 0 when the run succeeded', async () => {
      gateway.on('GET', '/runs/r-1/wait', { status: 200, body: { id: 'r-1', status: 'succeeded', steps: [{ id: 'fetch', status: 'succeeded', attempts: 1 }] } });
      const r = await steward(['runs', 'wait', 'r-1', '--timeout', '5m'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/status:\s+succeeded/);
      expect(r.stdout).toMatch(/fetch\s+-\s+-\s+succeeded\s+1/);
      expect(gateway.requests[0]!.query.get('timeout')).toBe('5m');
    });

    it('draws the step graph from the run detail: needs, attempts and errors', async () => {
      gateway.on('GET', '/runs/r-2', {
        status: 200,
        body: {
          id: 'r-2',
          status: 'failed',
          steps: [
            { id: 'fetch', kind: 'task', needs: [], status: 'succeeded', attempts: [{ attempt: 1 }] },
            { id: 'publish', kind: 'task', needs: ['fetch'], status: 'dead_lettered', attempts: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3 }], error: 'timeout: portal did not answer' },
          ],
        },
      });
      const r = await steward(['runs', 'show', 'r-2'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/fetch\s+task\s+-\s+succeeded\s+1/);
      expect(r.stdout).toMatch(/└─ publish\s+task\s+fetch\s+dead_lettered\s+3 .*timeout: portal did not answer/);
    });

    it('exits 1 when the run failed', async () => {
      gateway.on('GET', '/runs/r-1/wait', { status: 200, body: { id: 'r-1', status: 'failed' } });
      const r = await steward(['runs', 'wait', 'r-1'], { env: currentEnv() });
      expect(r).toMatchObject({ code: 1, stderr: 'error: run r-1 ended failed\n' });
      expect(gateway.requests[0]!.query.get('timeout')).toBe('60s');
    });

    it('exits 1 with "still running" on 408', async () => {
      gateway.on('GET', '/runs/r-1/wait', { status: 408, body: apiError('timeout', 'run r-1 did not end within 60s') });
      const r = await steward(['runs', 'wait', 'r-1'], { env: currentEnv() });
      expect(r).toMatchObject({ code: 1, stderr: 'error: run r-1 is still running after 60s\n' });
    });
  });

  it('exits 1 with the status when the body is not the gateway error shape', async () => {
    gateway.on('GET', '/alerts', (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad Gateway</html>');
    });
    gateway.on('GET', '/budgets', (_req, res) => send(res, 200, { items: [] }));
    expect(await steward(['alerts', 'list'], { env: currentEnv() })).toMatchObject({ code: 1, stderr: 'error: the gateway answered HTTP 502: <html>Bad Gateway</html>\n' });
    expect(await steward(['costs', 'budgets', 'list'], { env: currentEnv() })).toMatchObject({ code: 0, stdout: 'no budgets\n' });
  });
});

function fixtures(): string {
  return `${__dirname}/__fixtures__`;
}

/** A port nothing listens on: bind one, then free it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
