import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TokenRole } from '@steward/contracts';
import { COMMIT_SAFE } from '@steward/event-store';
import { Logger } from '@steward/observability';
import type { Pool } from 'pg';
import { eventually, type TestEnvironment } from '@steward/testing';
import { GatewayModule } from '../app.module';
import { loadConfig, type GatewayConfig } from '../config';

/** The admin token every in-process test gateway is bootstrapped with. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is, e.g. to test bodies that are not JSON. */
  rawBody?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
}

/**
 * A gateway running in this process on a free port, against the test file's
 * database and namespace; closed with the test environment.
 */
export interface GatewayHarness {
  url: string;
  app: INestApplication;
  config: GatewayConfig;
  logs: Record<string, any>[];
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<Reply<T>>;
  /** A token of `role` created through the API; names are unique per call. */
  tokenFor(role: TokenRole, name?: string): Promise<{ id: string; token: string; name: string }>;
  close(): Promise<void>;
}

let counter = 0;

export async function startGateway(env: TestEnvironment, overrides: Record<string, string> = {}): Promise<GatewayHarness> {
  const config = loadConfig({ ...env.env(), STEWARD_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'warn', ...overrides });
  const logs: Record<string, any>[] = [];
  const logger = new Logger({ service: 'gateway', level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = await NestFactory.create(await GatewayModule.forRoot(config, logger), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${port}`;

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    const target = new URL(path, url);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) target.searchParams.set(k, v);
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TEST_ADMIN_TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(target, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  }

  // Closed by the environment before it drops the database (afterAll hooks run in declaration order).
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= app.close());
  env.track({ end: close });

  return {
    url,
    app,
    config,
    logs,
    request,
    async tokenFor(role, name = `${role}-${process.pid}-${++counter}`) {
      const res = await request<{ id: string; token: string }>('POST', '/api/v1/tokens', { body: { name, role } });
      if (res.status !== 201) throw new Error(`could not create a ${role} token: ${res.status} ${res.text}`);
      return { id: res.body.id, token: res.body.token, name };
    },
    close,
  };
}

/**
 * Waits until every committed event is readable in commit-safe order.
 * A transaction this database's tests leave open holds commit-safe readers
 * back until it ends (other databases' no longer do: steward_commit_horizon).
 */
export async function untilCommittedReadable(pool: Pool, timeoutMs = 45_000): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await pool.query<{ ok: boolean | null }>(
        `SELECT bool_and(${COMMIT_SAFE}) AS ok FROM events`,
      );
      if (rows[0]?.ok === false) throw new Error('some committed events are not readable yet');
    },
    timeoutMs,
    20,
  );
}
