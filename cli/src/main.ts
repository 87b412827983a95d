#!/usr/bin/env node
// The `steward` executable: wires the real process (argv, env, terminal, Ctrl-C) to runCli.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from './command.context';
import { runCli } from './cli.program';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function main(): Promise<void> {
  const interrupt = new AbortController();
  // First Ctrl-C ends --follow/--watch cleanly; a second one means "now".
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  });
  const io: CliIo = {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    signal: interrupt.signal,
    now: () => new Date(),
    sleep,
    pollIntervalMs: 1_000,
    version: version(),
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
}

void main();
