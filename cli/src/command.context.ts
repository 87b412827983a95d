import type { Command } from 'commander';
import { resolveConnection } from './config/connection.config';
import { ApiClient, type ApiResponse, type Query } from './http/api.client';
import { parsePositiveInt } from './input/input.parse';
import { formatTable, type Column } from './output/table.format';
import { Output, wantsColor, type TextSink } from './output/output.writer';

/** Everything a command touches outside itself, injectable so tests run the CLI in-process. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: TextSink;
  stderr: TextSink;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  now: () => Date;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** How often `--watch` polls; 1s for people, shorter in tests. */
  pollIntervalMs: number;
  version: string;
}

export interface GlobalOptions {
  json?: boolean;
  apiUrl?: string;
  token?: string;
}

export interface PageOptions {
  all?: boolean;
  cursor?: string;
  limit?: string;
}

export type Row = Record<string, unknown>;

export interface Listing<T> {
  items: T[];
  next?: string;
  /** The first page's body as the gateway sent it, for `--json`. */
  first: unknown;
}

interface Page<T> {
  items?: T[];
  next?: string | null;
}

// A cursor loop that never ends (a gateway bug) must not spin forever.
const MAX_PAGES = 10_000;

/** One command invocation: its output, its lazily built API client and the contract's conventions. */
export class CommandContext {
  readonly out: Output;
  private clientPromise: Promise<ApiClient> | undefined;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
  ) {
    this.out = new Output(io.stdout, io.stderr, options.json === true, wantsColor(io.stdout, io.env));
  }

  /**
   * Built on first use, after the command checked its own input, so bad
   * input is reported (exit 2) without touching config or network.
   */
  client(): Promise<ApiClient> {
    this.clientPromise ??= resolveConnection({ apiUrl: this.options.apiUrl, token: this.options.token }, this.io.env).then(
      (c) =>
        new ApiClient({ apiUrl: c.apiUrl, token: c.token, signal: this.io.signal, userAgent: `steward-cli/${this.io.version}` }),
    );
    return this.clientPromise;
  }

  async get<T>(path: string, query?: Query, timeoutMs?: number): Promise<T> {
    const res = await (await this.client()).get<T>(path, query, timeoutMs);
    return res.body as T;
  }

  /** Prints the raw body for `--json`; otherwise calls `render`. */
  async show<T>(path: string, query: Query | undefined, render: (body: T) => void): Promise<T> {
    const body = await this.get<T>(path, query);
    if (this.out.json) this.out.printJson(body);
    else render(body);
    return body;
  }

  /** First page, or every page with `--all`, following the opaque `next` cursor. */
  async list<T>(path: string, query: Query, page: PageOptions): Promise<Listing<T>> {
    const limit = page.limit === undefined ? undefined : parsePositiveInt(page.limit, '--limit');
    const client = await this.client();
    const items: T[] = [];
    let cursor = page.cursor;
    let first: unknown;
    for (let n = 0; n < MAX_PAGES; n++) {
      const res = await client.get<Page<T>>(path, { ...query, cursor, limit });
      const body = (res.body ?? {}) as Page<T>;
      first ??= body;
      items.push(...(Array.isArray(body.items) ? body.items : []));
      const next = typeof body.next === 'string' && body.next !== '' ? body.next : undefined;
      if (!page.all || next === undefined || next === cursor) return { items, next: page.all ? undefined : next, first };
      cursor = next;
    }
    return { items, first };
  }

  /** A listing as a table (or raw JSON), with a hint when there are more pages. */
  printList<T>(listing: Listing<T>, columns: Column<T>[], empty: string, page: PageOptions): void {
    if (this.out.json) {
      this.out.printJson(page.all ? { items: listing.items } : listing.first);
      return;
    }
    if (listing.items.length === 0) this.out.line(empty);
    else this.out.line(formatTable(columns, listing.items, { color: this.out.color }));
    if (listing.next !== undefined) {
      this.out.note(`more results: run again with --cursor ${listing.next}, or add --all for everything`);
    }
  }

  /**
   * A state-changing request. The gateway answers when the owning service
   * recorded the outcome, or 202 `pending` when it did not answer in time:
   * the command was accepted, so that is success (exit 0), said plainly.
   */
  async send<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
    options: { service: string; done: (body: T) => void },
  ): Promise<ApiResponse<T>> {
    const client = await this.client();
    const res = await client.request<T>(method, path, { body: method === 'DELETE' ? undefined : body });
    if (this.out.json) this.out.printJson(res.body);
    else if (res.kind === 'pending') {
      const service = res.body.service ?? options.service;
      this.out.line(`accepted; the ${service} service has not answered yet (command ${res.body.commandId})`);
    } else options.done(res.body);
    return res;
  }
}

export type ActionBody<O> = (ctx: CommandContext, args: string[], opts: O) => Promise<void>;
export type ActionFactory = <O>(body: ActionBody<O>) => (...params: unknown[]) => Promise<void>;

/** Adapts commander's `(arg..., opts, command)` callback to `(ctx, args, opts)`. */
export function actionFactory(io: CliIo): ActionFactory {
  return <O>(body: ActionBody<O>) =>
    async (...params: unknown[]): Promise<void> => {
      const command = params[params.length - 1] as Command;
      const opts = params[params.length - 2] as O;
      const args = params.slice(0, -2).flat() as string[];
      await body(new CommandContext(io, command.optsWithGlobals<GlobalOptions>()), args, opts);
    };
}

/** `--all`, `--cursor`, `--limit` on every listing. */
export function paged(command: Command): Command {
  return command
    .option('--all', 'follow the cursor and list every page')
    .option('--cursor <cursor>', 'start from this cursor (printed when there are more results)')
    .option('--limit <n>', 'at most this many items a page');
}

/**
 * Whether a command's outcome is `command.accepted`: the owning service took
 * it but recorded nothing, because things already were as asked (a repeat,
 * an unchanged file).
 */
export function changedNothing(outcome: unknown): boolean {
  const event = (outcome as { event?: { type?: unknown } } | null)?.event;
  return event?.type === 'command.accepted';
}

export function idPath(...parts: string[]): string {
  return parts.map((p) => `/${encodeURIComponent(p)}`).join('');
}
