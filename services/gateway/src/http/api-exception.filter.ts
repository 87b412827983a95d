import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isStewardError } from '@steward/contracts';
import type { Logger } from '@steward/observability';
import { toHttpError } from './http-error.mapper';

/**
 * The gateway's only exception filter. Nest's built-in one answers unknown
 * errors with a bare 500 and logs them in its own format; here every error
 * leaves in the API's shape and 5xx causes are logged as JSON.
 *
 * Health routes keep their own bodies: /readyz throws a 503 whose body
 * lists the failing checks, which probes and people read.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly bodyLimitLabel: string,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<IncomingMessage & { originalUrl?: string }>();
    const res = http.getResponse<ServerResponse>();
    const url = req.originalUrl ?? req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (res.headersSent) {
      // An event stream that failed mid-way: the status is long gone, so just end it.
      this.logger.warn('request failed after the response started', { path, err });
      res.end();
      return;
    }
    const passthrough = healthBody(err, path);
    if (passthrough) {
      send(res, passthrough.status, passthrough.body, {});
      return;
    }
    const out = toHttpError(err, { bodyLimitLabel: this.bodyLimitLabel, method: req.method ?? 'GET', path });
    // A 503 the gateway chose (a service is not running) is an answer, not a fault; anything else 5xx is.
    if (out.serverFault && isStewardError(err) && err.code === 'unavailable') this.logger.debug('request refused', { method: req.method, path, http_status: out.status, reason: err.message });
    else if (out.serverFault) this.logger.error('request failed', { method: req.method, path, http_status: out.status, err });
    send(res, out.status, out.body, out.headers);
  }
}

function healthBody(err: unknown, path: string): { status: number; body: unknown } | undefined {
  if (path.startsWith('/api/')) return undefined;
  const e = err as { getStatus?: () => number; getResponse?: () => unknown };
  if (typeof e?.getStatus !== 'function' || typeof e.getResponse !== 'function') return undefined;
  const body = e.getResponse();
  // Nest's own exceptions carry { statusCode, message }; a custom body is the route's answer.
  if (typeof body !== 'object' || body === null || 'statusCode' in body) return undefined;
  return { status: e.getStatus(), body };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
