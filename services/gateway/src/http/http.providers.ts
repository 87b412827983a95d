import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpAdapterHost } from '@nestjs/core';
import type { HttpServer, Provider } from '@nestjs/common';
import type { Metrics } from '@steward/observability';

export const HTTP_PLUMBING = Symbol('HTTP_PLUMBING');

/**
 * Installs Express middleware that must run before Nest's own: the JSON body
 * parser with our size limit (Nest then skips its default 100kb parser, which
 * it only adds when no `jsonParser` is mounted yet) and request metrics.
 * A factory provider runs while the app is being created, before init()
 * mounts the default parsers; bootstrapService gives us no other hook there.
 */
export function httpPlumbingProvider(options: { bodyLimitBytes: number; metrics: Metrics }): Provider {
  return {
    provide: HTTP_PLUMBING,
    inject: [HttpAdapterHost],
    useFactory: (host: HttpAdapterHost) => {
      const adapter = host.httpAdapter;
      const requests = options.metrics.counter('steward_http_requests_total', 'HTTP requests answered, by route and status', ['method', 'route', 'status']);
      const duration = options.metrics.histogram('steward_http_request_duration_seconds', 'Time to answer an HTTP request', ['method', 'route']);
      adapter.use((req: IncomingMessage & { route?: { path?: string } }, res: ServerResponse, next: () => void) => {
        const end = process.hrtime.bigint();
        res.on('finish', () => {
          // The matched route pattern, never the raw URL: ids would explode the label set.
          const route = req.route?.path ?? 'unmatched';
          const method = req.method ?? 'GET';
          requests.inc({ method, route, status: String(res.statusCode) });
          duration.observe({ method, route }, Number(process.hrtime.bigint() - end) / 1e9);
        });
        next();
      });
      (adapter as unknown as HttpServer).useBodyParser?.('json', false, { limit: options.bodyLimitBytes });
      return true;
    },
  };
}
