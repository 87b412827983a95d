import { spawn } from 'node:child_process';

export type PromtoolResult = { ok: true; output: string } | { ok: false; output: string } | { skipped: true; reason: string };

/**
 * Pipes a /metrics body through `promtool check metrics` (Debian package
 * `prometheus`), the linter DESIGN.md holds every service to. A missing
 * promtool is an error, not a pass, unless STEWARD_SKIP_PROMTOOL=1: a check
 * that silently does not run is a check that cannot fail.
 */
export function promtoolCheckMetrics(exposition: string, env: Record<string, string | undefined> = process.env): Promise<PromtoolResult> {
  const bin = env.PROMTOOL || 'promtool';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') return reject(err);
      if (env.STEWARD_SKIP_PROMTOOL === '1') return resolve({ skipped: true, reason: `${bin} not found` });
      reject(new Error(`${bin} not found: install Debian's "prometheus" package (apt-get install prometheus) or set STEWARD_SKIP_PROMTOOL=1`));
    });
    child.on('close', (code) => resolve(code === 0 ? { ok: true, output } : { ok: false, output }));
    // promtool may exit before reading everything (it reports the first parse error); that EPIPE is not ours.
    child.stdin.on('error', () => undefined);
    child.stdin.end(exposition);
  });
}
