import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type EventMetadata } from '@steward/contracts';
import { createPool, EventStore } from '@steward/event-store';
import { CommandBus, type CommandOutcome } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, type TestEnvironment, startStoreRelay } from '@steward/testing';
import { CostTrackerModule } from '../app.module';
import type { Clock } from '../clock';
import { loadConfig } from '../config';

/** A clock tests move by hand. */
export class TestClock implements Clock {
  constructor(private at: Date) {}
  now(): Date {
    return new Date(this.at);
  }
  set(iso: string): void {
    this.at = new Date(iso);
  }
}

export interface CostHarness {
  app: INestApplication;
  pool: Pool;
  store: EventStore;
  clock: TestClock;
  /** Appends an event on its own stream, as the service that owns it would. */
  emit(type: string, data: Record<string, unknown>, metadata?: EventMetadata, source?: string): Promise<string>;
  send(name: string, payload: Record<string, unknown>): Promise<CommandOutcome>;
  /** Waits until the cost tracker's inbox holds these event ids. */
  processed(...eventIds: string[]): Promise<void>;
  crossings(scope: string, id: string): Promise<Array<{ key: string; state: string; period: string; data: any; metadata: any }>>;
  close(): Promise<void>;
}

export async function startCostTracker(env: TestEnvironment, clock: TestClock, extraEnv: Record<string, string> = {}): Promise<CostHarness> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'warn', COST_CAPACITY_REFRESH_MS: '0', COST_UPTIME_SAMPLE_MS: '0', ...extraEnv });
  const logger = new Logger({ service: 'cost-tracker', level: config.LOG_LEVEL, write: () => undefined });
  const app = await NestFactory.create(await CostTrackerModule.forRoot(config, logger, { clock }), { logger: false });
  await app.listen(0, '127.0.0.1');
  const pool = createPool(env.db.url, { max: 4 });
  const registry = new EventRegistry(allEvents);
  const relay = startStoreRelay(new EventStore(pool, { registry, source: 'relay' }), env.nats.nc, env.nats.subjects, registry);
  const bus = new CommandBus(env.nats.nc, env.nats.subjects);
  const stores = new Map<string, EventStore>();
  const storeOf = (source: string) => {
    let s = stores.get(source);
    if (s === undefined) stores.set(source, (s = new EventStore(pool, { registry, source })));
    return s;
  };
  return {
    app,
    pool,
    store: storeOf('test'),
    clock,
    async emit(type, data, metadata = {}, source = 'executor') {
      const id = uuidv7();
      const runId = typeof data.runId === 'string' ? data.runId : undefined;
      await storeOf(source).append(`test-${id}`, [{ id, type, data, metadata: { correlationId: runId ?? id, ...(runId !== undefined && { runId }), ...metadata } }], { expected: 'no_stream' });
      return id;
    },
    send(name, payload) {
      return bus.send('cost-tracker', name, payload, { actor: 'ana', timeoutMs: 10_000 });
    },
    async processed(...eventIds) {
      await eventually(async () => {
        const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'cost-tracker' AND message_id = ANY($1::text[])`, [eventIds]);
        expect(rows[0]!.n).toBe(eventIds.length);
      }, 15_000);
    },
    async crossings(scope, id) {
      const { rows } = await pool.query<{ data: any; metadata: any }>(`SELECT data, metadata FROM events WHERE stream_id = $1 AND type = 'budget.threshold_crossed' ORDER BY global_position`, [`budget-${scope}-${id}`]);
      return rows.map((r) => ({ key: `${r.data.threshold.kind}:${r.data.threshold.percent ?? r.data.threshold.amountMicros}`, state: r.data.state, period: r.data.period, data: r.data, metadata: r.metadata }));
    },
    async close() {
      await bus.close();
      await relay.stop();
      await app.close();
      await pool.end();
    },
  };
}
