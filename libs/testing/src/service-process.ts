import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The workspace root: this file is libs/testing/src (jest) or libs/testing/dist (built). */
const ROOT = join(__dirname, '..', '..', '..');
const MAX_CHUNKS = 500;

/**
 * A Steward service started the way its container starts it
 * (`node services/<name>/dist/main.js`, built beforehand), so a test can
 * SIGKILL a real process and start it again. Output is kept for the failure message.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly output: string[] = [];
  private exited?: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get main(): string {
    return join(ROOT, 'services', this.name, 'dist', 'main.js');
  }

  start(): this {
    if (!existsSync(this.main)) throw new Error(`${this.main} is missing: build first (pnpm build, or tsc -b services/${this.name})`);
    const child = spawn(process.execPath, [this.main], {
      // The test runner's NODE_OPTIONS (vm modules) are not the service's; STEWARD_SERVICE_NODE_OPTIONS passes some on purpose (e.g. --cpu-prof).
      env: { ...process.env, ...this.env, PORT: String(this.port), NODE_OPTIONS: process.env.STEWARD_SERVICE_NODE_OPTIONS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The last chunks only: a long benchmark must not hold all of a service's log.
    const keep = (d: Buffer): void => {
      this.output.push(d.toString());
      if (this.output.length > MAX_CHUNKS) this.output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    return this;
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.hasExited()) {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (res?.ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} ${this.hasExited() ? 'exited' : `not ready after ${timeoutMs} ms`}:\n${this.output.join('')}`);
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    return res.text();
  }

  /** SIGTERM (graceful drain), then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<number | null> {
    if (this.hasExited()) return this.child!.exitCode;
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    try {
      return await this.kill('SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  }

  private hasExited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
  }

  /** Resolves with the exit code (null when killed by the signal); at once if it already exited. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) return Promise.resolve(this.child.exitCode);
    this.child?.kill(signal);
    return this.exited ?? Promise.resolve(null);
  }
}
