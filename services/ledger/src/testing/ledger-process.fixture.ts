import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * The ledger started the way its container starts it (`node
 * services/ledger/dist/main.js`, built beforehand), so a test can SIGKILL a
 * real process. Same approach as e2e/service-process.ts.
 */
export class LedgerProcess {
  private child?: ChildProcess;
  readonly output: string[] = [];
  private exited?: Promise<number | null>;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  start(): this {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the ledger first (tsc -b services/ledger)`);
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...this.env, PORT: String(this.port), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    this.child = child;
    return this;
  }

  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (res?.ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`ledger not ready after ${timeoutMs} ms:\n${this.output.join('')}`);
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}/metrics`);
    return res.text();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) return Promise.resolve(this.child.exitCode);
    this.child?.kill(signal);
    return this.exited ?? Promise.resolve(null);
  }
}
