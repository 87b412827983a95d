import { isStewardError, httpStatusOf, ValidationError, type ValidationIssue } from '@steward/contracts';

/** The one error body of the API: `{ error: { code, message, issues?, context? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: ValidationIssue[]; context?: Record<string, unknown> };
}

export interface HttpErrorReply {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** 5xx: worth a log line with the cause; 4xx is the caller's business. */
  serverFault: boolean;
}

/** Postgres `query_canceled`: a statement timeout (the read pool's) or a cancel request. */
const PG_QUERY_CANCELED = '57014';

/** Too many requests for one token; not part of the shared error family because only HTTP has it. */
export class RateLimitedError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`rate limit exceeded; retry after ${retryAfterSeconds}s`);
    this.name = 'RateLimitedError';
  }
}

/** Nest's HttpException and http-errors (body-parser), duck-typed: they may come from another package copy. */
interface HttpLike {
  getStatus?: () => number;
  status?: number;
  statusCode?: number;
  message?: string;
  cause?: unknown;
}

function statusOf(err: unknown): number | undefined {
  const e = err as HttpLike;
  if (typeof e?.getStatus === 'function') return e.getStatus();
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

function reply(status: number, code: string, message: string, extra: Omit<ErrorBody['error'], 'code' | 'message'> = {}, headers: Record<string, string> = {}): HttpErrorReply {
  return { status, body: { error: { code, message, ...extra } }, headers, serverFault: status >= 500 };
}

export interface MapOptions {
  bodyLimitLabel: string;
  method: string;
  path: string;
}

/** Maps anything a handler, guard, pipe or body parser throws to the API's status and body. */
export function toHttpError(err: unknown, options: MapOptions): HttpErrorReply {
  if (isStewardError(err)) {
    const { issues: _issues, ...context } = err.context as Record<string, unknown>;
    const issues = err instanceof ValidationError ? err.issues : undefined;
    return reply(httpStatusOf(err.code), err.code, err.message, {
      ...(issues && issues.length > 0 && { issues }),
      ...(Object.keys(context).length > 0 && { context }),
    });
  }
  if (err instanceof RateLimitedError) {
    return reply(429, 'rate_limited', err.message, { context: { retryAfterSeconds: err.retryAfterSeconds } }, { 'retry-after': String(err.retryAfterSeconds) });
  }
  if ((err as { code?: unknown })?.code === PG_QUERY_CANCELED) {
    return reply(503, 'unavailable', `the read took longer than the gateway allows (READ_STATEMENT_TIMEOUT_MS) and was cancelled; narrow it (a shorter time range, a smaller limit) or raise the limit`, {}, { 'retry-after': '5' });
  }
  const status = statusOf(err);
  const cause = (err as HttpLike)?.cause as { type?: string; body?: string } | undefined;
  switch (status) {
    case 404:
      return reply(404, 'not_found', `no route ${options.method} ${options.path}`);
    case 413:
      return reply(413, 'validation', `request body exceeds ${options.bodyLimitLabel}`, {
        issues: [{ path: 'body', message: `larger than ${options.bodyLimitLabel}` }],
      });
    case 400:
      if (cause?.type === 'entity.parse.failed' || (err as HttpLike).cause instanceof SyntaxError) {
        return reply(400, 'validation', 'request body is not valid JSON', { issues: [{ path: 'body', message: 'not valid JSON' }] });
      }
      return reply(400, 'validation', (err as HttpLike).message ?? 'bad request');
    case 405:
      return reply(405, 'validation', `${options.method} is not allowed on ${options.path}`);
    case 415:
      return reply(415, 'validation', 'send the request body as application/json');
    case undefined:
      return reply(500, 'internal', 'internal error');
    default:
      return status < 500
        ? reply(status, 'validation', (err as HttpLike).message ?? 'bad request')
        : reply(status, 'internal', 'internal error');
  }
}
