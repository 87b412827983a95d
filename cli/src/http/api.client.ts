import { UnavailableError } from '@steward/contracts';
import { GatewayError, Interrupted, OperationFailed, type ApiErrorBody } from '../errors/cli.errors';
import { formatDuration } from '../input/duration.parse';
import { SseParser } from './sse.parse';

export type Query = Record<string, string | number | boolean | undefined>;

/** What the gateway answers with 202 when the owning service did not answer in time. */
export interface PendingBody {
  status: 'pending';
  commandId: string;
  service?: string;
}

export type ApiResponse<T> = { kind: 'done'; status: number; body: T } | { kind: 'pending'; status: 202; body: PendingBody };

export interface ApiClientOptions {
  apiUrl: string;
  token?: string;
  /** Default per-request timeout; long polls pass their own. */
  timeoutMs?: number;
  /** Ctrl-C: aborts whatever is in flight. */
  signal?: AbortSignal;
  userAgent?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A small JSON-over-HTTP client for the gateway's `/api/v1`, with timeouts and the contract's error mapping. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get apiUrl(): string {
    return this.options.apiUrl;
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.options.apiUrl}/api/v1${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  get<T>(path: string, query?: Query, timeoutMs?: number): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, { query, timeoutMs });
  }

  post<T>(path: string, body: unknown = {}, query?: Query): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, { body, query });
  }

  put<T>(path: string, body: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('PUT', path, { body });
  }

  delete<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path, {});
  }

  async request<T>(
    method: string,
    path: string,
    init: { query?: Query; body?: unknown; timeoutMs?: number },
  ): Promise<ApiResponse<T>> {
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout;
    const headers = this.headers('application/json');
    if (init.body !== undefined) headers['content-type'] = 'application/json';

    let status: number;
    let text: string;
    try {
      const res = await fetch(this.url(path, init.query), {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
      });
      status = res.status;
      // The body is read under the same signal, so a gateway that stalls mid-body still times out.
      text = await res.text();
    } catch (err) {
      throw this.transportError(err, timeout, timeoutMs);
    }
    return this.interpret<T>(status, text);
  }

  /**
   * Server-Sent Events from `path`, each `data:` parsed as JSON. Ends quietly
   * on Ctrl-C; the caller decides what a stream that ends by itself means.
   */
  async *events(path: string, query: Query = {}): AsyncGenerator<unknown> {
    const connect = new AbortController();
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Only connecting is bounded by the timeout: a quiet stream is normal.
    const timer = setTimeout(() => connect.abort(new DOMException('connect timeout', 'TimeoutError')), timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([connect.signal, this.options.signal]) : connect.signal;
    let res: Response;
    try {
      res = await fetch(this.url(path, query), { headers: this.headers('text/event-stream'), signal });
    } catch (err) {
      if (this.options.signal?.aborted) return;
      throw this.transportError(err, connect.signal, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
    if (res.status !== 200 || !res.body) {
      this.interpret(res.status, await res.text());
      throw new OperationFailed(`the gateway answered HTTP ${res.status} instead of an event stream`);
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        for (const event of parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          yield parseJson(event.data, 'an event');
        }
      }
    } catch (err) {
      if (this.options.signal?.aborted) return;
      throw this.transportError(err, undefined, timeoutMs);
    }
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept, 'user-agent': this.options.userAgent ?? 'steward-cli' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    return headers;
  }

  private interpret<T>(status: number, text: string): ApiResponse<T> {
    const body = text.trim() === '' ? null : tryJson(text);
    if (status >= 200 && status < 300) {
      if (body === undefined) throw new OperationFailed(`the gateway answered HTTP ${status} with a body that is not JSON`);
      if (status === 202 && isPending(body)) return { kind: 'pending', status: 202, body };
      return { kind: 'done', status, body: body as T };
    }
    const error = errorOf(body);
    if (error) throw new GatewayError(status, error, body);
    const snippet = text.trim().slice(0, 200);
    throw new GatewayError(
      status,
      { code: `http_${status}`, message: `the gateway answered HTTP ${status}${snippet ? `: ${snippet}` : ''}` },
      { error: { code: `http_${status}`, message: snippet } },
    );
  }

  private transportError(err: unknown, timeout: AbortSignal | undefined, timeoutMs: number): Error {
    if (this.options.signal?.aborted) return new Interrupted();
    const url = this.options.apiUrl;
    if (timeout?.aborted) {
      return new UnavailableError(`the Steward gateway at ${url} did not answer within ${formatDuration(timeoutMs)}`, {
        url,
        timeoutMs,
      });
    }
    const reason = reasonOf(err);
    return new UnavailableError(`cannot reach the Steward gateway at ${url}: ${reason}. Is it running? (./dev up)`, {
      url,
      reason,
    });
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseJson(text: string, what: string): unknown {
  const value = tryJson(text);
  if (value === undefined) throw new OperationFailed(`the gateway sent ${what} that is not JSON: ${text.slice(0, 200)}`);
  return value;
}

function isPending(body: unknown): body is PendingBody {
  return typeof body === 'object' && body !== null && (body as { status?: unknown }).status === 'pending';
}

function errorOf(body: unknown): ApiErrorBody | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string') return undefined;
  return { ...(error as ApiErrorBody), message: typeof message === 'string' ? message : code };
}

/**
 * fetch hides the socket error in `cause` (sometimes an AggregateError for
 * IPv4 + IPv6 attempts). Duck-typed: errors from fetch may come from another
 * realm (jest's sandbox), where `instanceof Error` is false.
 */
function reasonOf(err: unknown): string {
  let cause = err as { cause?: unknown; errors?: unknown[]; message?: unknown; code?: unknown } | undefined;
  for (let depth = 0; depth < 10 && cause && typeof cause === 'object'; depth++) {
    if (cause.cause !== undefined) cause = cause.cause as typeof cause;
    else if (Array.isArray(cause.errors) && cause.errors.length > 0) cause = cause.errors[0] as typeof cause;
    else break;
  }
  if (cause && typeof cause === 'object') {
    if (typeof cause.message === 'string' && cause.message !== '') return cause.message;
    if (typeof cause.code === 'string') return cause.code;
  }
  return String(cause);
}
