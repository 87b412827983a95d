import 'reflect-metadata';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { migrate } from '@steward/event-store';
import { PresenceDirectory } from '@steward/messaging';
import { Logger, promtoolCheckMetrics } from '@steward/observability';
import { eventually, useTestEnvironment } from '@steward/testing';
import { LedgerModule } from './app.module';
import { loadConfig } from './config';

/**
 * A TCP relay in front of Postgres or NATS: cutting it makes the dependency
 * unreachable for the ledger alone, without touching the shared servers.
 */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<this> {
    this.server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }

  /** `url` with its host and port replaced by this proxy's. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  static async inFrontOf(url: string): Promise<CuttableProxy> {
    const u = new URL(url);
    return new CuttableProxy({ host: u.hostname, port: Number(u.port || (u.protocol.startsWith('nats') ? 4222 : 5432)) }).open();
  }
}

describe('ledger observability: /metrics, /readyz and presence', () => {
  const env = useTestEnvironment({ label: 'ledgerobs', setupDatabase: (url) => migrate(url) });
  const logger = new Logger({ service: 'ledger', level: 'error', write: () => undefined });

  async function startLedger(overrides: Record<string, string> = {}): Promise<{ app: INestApplication; url: string }> {
    const config = loadConfig({ ...env.env(), PORT: '1', LOG_LEVEL: 'error', RELAY_POLL_MS: '100', ...overrides });
    const app = await NestFactory.create(await LedgerModule.forRoot(config, logger), { logger: false });
    await app.listen(0, '127.0.0.1');
    return { app, url: await app.getUrl() };
  }

  it('serves /metrics that passes promtool check metrics, with the relay series', async () => {
    const { app, url } = await startLedger();
    try {
      await eventually(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200));
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const name of ['steward_relay_lag_events', 'steward_relay_published_total', 'steward_process_cpu_seconds_total']) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      const lint = await promtoolCheckMetrics(text);
      if ('skipped' in lint) return;
      expect(lint.output).toBe('');
      expect(lint.ok).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('announces itself in the presence directory while running, and leaves on shutdown', async () => {
    const directory = new PresenceDirectory(env.nats.nc, env.nats.subjects);
    const { app } = await startLedger();
    try {
      expect(await directory.isRunning('ledger')).toBe(true);
      expect((await directory.list())[0]).toMatchObject({ service: 'ledger', capabilities: ['relay', 'replay', 'cmd:start_replay', 'cmd:cancel_replay'] });
    } finally {
      await app.close();
    }
    expect(await directory.isRunning('ledger')).toBe(false);
  });

  it('answers /readyz 503 naming nats when NATS becomes unreachable', async () => {
    const proxy = await CuttableProxy.inFrontOf(env.nats.url);
    const { app, url } = await startLedger({ NATS_URL: proxy.via(env.nats.url) });
    try {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      proxy.cut();
      const body = await eventually(async () => {
        const res = await fetch(`${url}/readyz`);
        expect(res.status).toBe(503);
        return (await res.json()) as { failing: string[]; checks: Record<string, boolean> };
      });
      expect(body.failing).toContain('nats');
      expect(body.failing).not.toContain('postgres');
      expect(body.checks.postgres).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('answers /readyz 503 naming postgres when Postgres becomes unreachable', async () => {
    const proxy = await CuttableProxy.inFrontOf(env.db.url);
    const { app, url } = await startLedger({ DATABASE_URL: proxy.via(env.db.url) });
    try {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      proxy.cut();
      const body = await eventually(async () => {
        const res = await fetch(`${url}/readyz`);
        expect(res.status).toBe(503);
        return (await res.json()) as { failing: string[] };
      });
      expect(body.failing).toContain('postgres');
      expect(body.failing).not.toContain('nats');
    } finally {
      await app.close();
    }
  });
});
