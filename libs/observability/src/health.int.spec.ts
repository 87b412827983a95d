import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthModule, Metrics, promtoolCheckMetrics, type ReadinessCheck } from './index';

async function serve(checks: ReadinessCheck[], metrics = new Metrics('probe')): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(HealthModule.forRoot(metrics, checks, { checkTimeoutMs: 300 }), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

describe('health endpoints', () => {
  const apps: INestApplication[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it('answers /readyz 200 when every dependency is reachable', async () => {
    const { app, url } = await serve([
      { name: 'postgres', check: async () => true },
      { name: 'nats', check: () => true },
    ]);
    apps.push(app);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { postgres: true, nats: true } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('answers /readyz 503 naming each failing check: false, thrown, or never answering', async () => {
    const { app, url } = await serve([
      { name: 'postgres', check: () => Promise.reject(new Error('connect ECONNREFUSED postgres://svc:hunter2@db:5432/steward')) },
      { name: 'nats', check: () => new Promise<boolean>(() => undefined) },
      { name: 'consumers', check: () => false },
      { name: 'disk', check: () => true },
    ]);
    apps.push(app);
    const started = Date.now();
    const res = await fetch(`${url}/readyz`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.status).toBe(503);
    const body = (await res.json()) as Record<string, any>;
    expect(body.failing).toEqual(['postgres', 'nats', 'consumers']);
    expect(body.checks).toEqual({ postgres: false, nats: false, consumers: false, disk: true });
    expect(body.reasons.postgres).toMatch(/ECONNREFUSED/);
    expect(body.reasons.nats).toMatch(/no answer within 300 ms/);
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });

  it('serves /metrics that passes promtool check metrics', async () => {
    const metrics = new Metrics('probe');
    metrics.counter('steward_probe_events_total', 'Probe events', ['kind']).inc({ kind: 'a' });
    metrics.histogram('steward_probe_duration_seconds', 'Probe durations').observe(0.02);
    const { app, url } = await serve([], metrics);
    apps.push(app);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    expect(text).toContain('steward_probe_events_total{kind="a",service="probe"} 1');
    const lint = await promtoolCheckMetrics(text);
    if ('skipped' in lint) return;
    expect(lint.output).toBe('');
    expect(lint.ok).toBe(true);
  });

  it('fails the promtool check on a badly named metric, so the check itself can fail', async () => {
    const lint = await promtoolCheckMetrics('# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n');
    if ('skipped' in lint) return;
    expect(lint.ok).toBe(false);
    expect(lint.output).toMatch(/_total/);
  });
});
