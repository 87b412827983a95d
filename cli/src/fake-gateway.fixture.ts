import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './command.context';
import { runCli } from './cli.program';

/** One request the fake gateway received, with `/api/v1` stripped from the path. */
export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

/** A real HTTP server on 127.0.0.1:0 that plays the gateway's side of the API contract. */
export class FakeGateway {
  readonly requests: Recorded[] = [];
  private readonly routes = new Map<string, Handler>();
  private server: Server | undefined;
  url = '';

  /** `reply(status, body)` or a handler; `path` is matched without the query string. */
  on(method: string, path: string, handler: Handler | { status: number; body?: unknown }): this {
    this.routes.set(
      `${method} ${path}`,
      typeof handler === 'function' ? handler : (_req, res) => send(res, handler.status, handler.body),
    );
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.routes.clear();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const recorded: Recorded = {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: req.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
    this.requests.push(recorded);
    const handler = this.routes.get(`${recorded.method} ${path}`);
    if (!handler) {
      send(res, 500, { error: { code: 'internal', message: `fake gateway has no route for ${recorded.method} ${path}` } });
      return;
    }
    await handler(recorded, res);
  }
}

export function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

export function apiError(code: string, message: string, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { code, message, ...extra } };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  tty?: boolean;
  now?: Date;
  /** Called with everything written to stdout so far, after each write. */
  onStdout?: (text: string) => void;
}

/** An empty, private config home so the developer's own ~/.config never leaks into a test. */
export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `steward ...args` in-process against `env` (never the real process environment). */
export async function steward(args: string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stdout: {
      isTTY: options.tty === true,
      write: (s: string) => {
        stdout += s;
        options.onStdout?.(stdout);
        return true;
      },
    },
    stderr: { write: (s: string) => (stderr += s) },
    signal: options.signal ?? new AbortController().signal,
    now: () => options.now ?? new Date('2026-05-01T12:00:00Z'),
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    pollIntervalMs: 5,
    version: '0.0.0-test',
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/**
 * The usual spec setup: a fake gateway and a throwaway config home for the
 * file, reset between tests. `env()` is valid inside tests.
 */
export function useFakeGateway(token = 't'): { gateway: FakeGateway; env: () => NodeJS.ProcessEnv } {
  const gateway = new FakeGateway();
  const home = tempHome();
  let env: NodeJS.ProcessEnv | undefined;
  beforeAll(async () => {
    env = { STEWARD_API_URL: await gateway.start(), STEWARD_TOKEN: token, XDG_CONFIG_HOME: home.dir };
  });
  afterEach(() => gateway.reset());
  afterAll(async () => {
    await gateway.stop();
    home.cleanup();
  });
  return {
    gateway,
    env: () => {
      if (!env) throw new Error('the fake gateway runs only inside tests');
      return env;
    },
  };
}
