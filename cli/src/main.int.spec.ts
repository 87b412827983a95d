import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeGateway, send, tempHome } from './fake-gateway.fixture';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'cli', 'dist', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv, onStdout?: (text: string, kill: () => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, () => child.kill('SIGINT'));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The built executable, as `steward` runs it: shebang, process exit code, Ctrl-C.
describe('the steward executable', () => {
  const gateway = new FakeGateway();
  const home = tempHome();
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // `pnpm build` runs before the tests in CI; build here too so `pnpm jest cli` works on its own.
    if (!existsSync(MAIN)) execFileSync(process.execPath, [join(ROOT, 'node_modules', 'tsc7', 'bin', 'tsc'), '-b', 'cli'], { cwd: ROOT });
    env = { STEWARD_API_URL: await gateway.start(), STEWARD_TOKEN: 't', XDG_CONFIG_HOME: home.dir };
  }, 120_000);
  afterAll(async () => {
    await gateway.stop();
    home.cleanup();
  });

  it('is a node script named steward in package.json', () => {
    expect(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'cli', 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect(pkg).toMatchObject({ name: '@steward/cli', bin: { steward: 'dist/main.js' } });
  });

  it('sets the process exit code from the response', async () => {
    gateway.on('GET', '/runs/r-404', (_req, res) => send(res, 404, { error: { code: 'not_found', message: 'run r-404 not found' } }));
    const r = await run(['runs', 'show', 'r-404', '--json'], env);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'not_found', message: 'run r-404 not found' } });
  });

  it('stops following on Ctrl-C and exits 0', async () => {
    gateway.on('GET', '/timeline', (_req, res) => send(res, 200, { items: [] }));
    gateway.on('GET', '/timeline/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify({ id: 'e1', position: 1, time: '2026-05-01T10:00:00Z', service: 'executor', type: 'run.started', streamId: 's' })}\n\n`);
    });
    const r = await run(['timeline', '--run', 'r-1', '--follow'], env, (text, kill) => {
      if (text.includes('run.started')) kill();
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/executor\s+run\.started/);
  });
});
