import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type EventEnvelope, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore } from '@steward/event-store';
import { publishEvent } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, type TestEnvironment } from '@steward/testing';
import { CollectorModule, type CollectorOverrides } from '../app.module';
import { loadConfig } from '../config';

export interface StepReport {
  name: string;
  commandId: string;
  payload: Record<string, any>;
}

export interface QueueOptions {
  runId?: string;
  stepId?: string;
  workflowId?: string;
  attempt?: number;
  inputs?: Record<string, unknown>;
  startToCloseMs?: number;
  queuedAt?: string;
  /** Reuse an envelope id: the same message again (deduped by the stream) vs a new one. */
  eventId?: string;
}

export interface CollectorHarness {
  /** Where the app serves /healthz, /readyz and /metrics. */
  baseUrl: string;
  pool: Pool;
  store: EventStore;
  logs: Record<string, unknown>[];
  /** Every report_step_* command the collector sent, in order. */
  reports: StepReport[];
  queue(spec: Record<string, unknown>, options?: QueueOptions): Promise<{ runId: string; stepId: string; attempt: number; eventId: string }>;
  result(runId: string, attempt?: number, timeoutMs?: number): Promise<Record<string, any>>;
  streamEvents(prefix: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** Starts a collector app in this process; `env` overrides its config. */
export async function startCollectorApp(env: TestEnvironment, options: CollectorOverrides & { env?: Record<string, string> } = {}): Promise<{ app: INestApplication; logs: Record<string, unknown>[] }> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'info', COLLECTOR_ALLOW_CIDRS: '127.0.0.0/8', COLLECTOR_ACK_WAIT_MS: '5000', ...options.env });
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ service: 'collector', level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = await NestFactory.create(await CollectorModule.forRoot(config, logger, options), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, logs };
}

/**
 * A collector plus what the executor would do around it: publish
 * step.queued routed `collector` and listen to the executor's command
 * subjects for the reports.
 */
export async function startCollector(env: TestEnvironment, options: CollectorOverrides & { env?: Record<string, string> } = {}): Promise<CollectorHarness> {
  const { app, logs } = await startCollectorApp(env, options);
  const address = app.getHttpServer().address() as { port: number };
  const pool = createPool(env.db.url, { max: 4 });
  const registry = new EventRegistry(allEvents);
  const store = new EventStore(pool, { registry, source: 'test' });
  const { nc, subjects } = env.nats;
  const js = jetstream(nc);
  const reports: StepReport[] = [];
  const subs: Subscription[] = [];
  for (const name of ['report_step_started', 'report_step_result']) {
    const sub = nc.subscribe(subjects.command('executor', name));
    subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        const cmd = m.json<{ commandId: string; payload: Record<string, any> }>();
        // The stream dedupes a re-sent command by id; a plain subscription sees each send.
        if (!reports.some((r) => r.commandId === cmd.commandId)) reports.push({ name, commandId: cmd.commandId, payload: cmd.payload });
      }
    })();
  }
  await nc.flush();

  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    pool,
    store,
    logs,
    reports,
    async queue(spec, o = {}) {
      const runId = o.runId ?? `r-${uuidv7()}`;
      const stepId = o.stepId ?? 'fetch';
      const workflowId = o.workflowId ?? 'prices';
      const attempt = o.attempt ?? 1;
      const eventId = o.eventId ?? uuidv7();
      const data = {
        runId,
        workflowId,
        stepId,
        version: 1,
        attempt,
        kind: 'collect',
        target: { service: 'collector' },
        spec,
        input: { inputs: o.inputs ?? {}, outputs: {} },
        timeouts: { startToCloseMs: o.startToCloseMs ?? 30_000 },
        queuedAt: o.queuedAt ?? new Date().toISOString(),
      };
      const envelope: EventEnvelope = {
        specversion: '1.0',
        id: eventId,
        source: 'executor',
        type: 'step.queued',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        dataschemaversion: 1,
        streamid: `run-${runId}`,
        streamversion: 2,
        globalposition: '1',
        transactionid: '1',
        correlationid: runId,
        workflowid: workflowId,
        runid: runId,
        data,
      } as EventEnvelope;
      await publishEvent(js, subjects, envelope, registry);
      return { runId, stepId, attempt, eventId };
    },
    async result(runId, attempt = 1, timeoutMs = 15_000) {
      return eventually(async () => {
        const r = reports.find((x) => x.name === 'report_step_result' && x.payload.runId === runId && x.payload.attempt === attempt);
        if (!r) throw new Error(`no result for ${runId} attempt ${attempt} yet`);
        return r.payload;
      }, timeoutMs);
    },
    async streamEvents(prefix) {
      const { rows } = await pool.query<{ stream_id: string }>('SELECT DISTINCT stream_id FROM events WHERE stream_id LIKE $1', [`${prefix}%`]);
      const out: StoredEvent[] = [];
      for (const r of rows) out.push(...(await store.readStream(r.stream_id)));
      return out;
    },
    async close() {
      for (const s of subs) s.unsubscribe();
      await app.close();
      await pool.end();
    },
  };
}
