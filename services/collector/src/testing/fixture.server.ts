import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A local HTTP source for tests: routes by path, counts every request per path, keeps the request headers. */
export class FixtureServer {
  readonly hits = new Map<string, number>();
  readonly requests: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];
  private readonly routes = new Map<string, Route>();
  private server: Server | undefined;
  port = 0;

  route(path: string, handler: Route): string {
    this.routes.set(path, handler);
    return this.url(path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const n = (this.hits.get(path) ?? 0) + 1;
      this.hits.set(path, n);
      this.requests.push({ path, headers: req.headers });
      const handler = this.routes.get(path);
      if (!handler) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
        return;
      }
      handler(req, res, n);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async end(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
