// Shared by this service's specs only (excluded from the build).
import 'reflect-metadata';
import { jetstream } from '@nats-io/jetstream';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { allEvents, EventRegistry, toEnvelope, type NewEvent } from '@steward/contracts';
import { createPool, EventStore, START, type Cursor } from '@steward/event-store';
import { CommandBus, publishEvent, type CommandOutcome } from '@steward/messaging';
import { Logger } from '@steward/observability';
import type { TestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { SchedulerModule } from '../app.module';
import { ManualClock } from '../clock';
import { loadConfig } from '../config';
import { startConsumers } from '../scheduler.consumers';
import { TickLoop, type TickResult } from '../schedules/tick.loop';

export interface SchedulerHarness {
  app: INestApplication;
  clock: ManualClock;
  logs: Record<string, unknown>[];
  tick(): Promise<TickResult>;
  close(): Promise<void>;
}

/** A scheduler replica in this process, on the test file's database and namespace, ticked by hand. */
export async function startScheduler(env: TestEnvironment, clock: ManualClock, options: { instance?: string; env?: Record<string, string> } = {}): Promise<SchedulerHarness> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'warn', ...options.env });
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ service: 'scheduler', level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const module = await SchedulerModule.forRoot(config, logger, { clock, autoTick: false, instance: options.instance ?? 'test' });
  const app = await NestFactory.create(module, { logger: false });
  await app.init();
  await startConsumers(app);
  const ticks = app.get(TickLoop);
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= app.close());
  env.track({ end: close });
  return { app, clock, logs, tick: () => ticks.tick(), close };
}

/**
 * Stands in for the ledger's relay (another service): tails the store in
 * commit-safe order and publishes each event, as the relay does.
 */
export class TestRelay {
  private cursor: Cursor = { ...START };
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly registry = new EventRegistry(allEvents);

  constructor(
    private readonly env: TestEnvironment,
    private readonly store: EventStore,
  ) {}

  start(): this {
    const js = jetstream(this.env.nats.nc);
    this.loop = (async () => {
      while (!this.stopped) {
        const { events, cursor } = await this.store.readAll(this.cursor, { limit: 500 });
        for (const e of events) await publishEvent(js, this.env.nats.subjects, toEnvelope(e), this.registry, { fromStore: true });
        this.cursor = cursor;
        if (events.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
    })();
    this.env.track({ end: () => this.stop() });
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
  }
}

export interface Infra {
  pool: Pool;
  store: EventStore;
  bus: CommandBus;
  /** Sends a scheduler command and waits for its outcome (through the relay). */
  send(name: string, payload: unknown, actor?: string): Promise<CommandOutcome>;
  /** Events of a type, oldest first. */
  eventsOf(type: string, where?: { workflowId?: string }): Promise<Array<{ streamId: string; data: any; metadata: any; eventId: string }>>;
  append(streamId: string, events: NewEvent[]): Promise<void>;
}

export function infra(env: TestEnvironment): Infra {
  const pool = env.track(createPool(env.db.url, { max: 4 }));
  const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'test' });
  const bus = new CommandBus(env.nats.nc, env.nats.subjects, { defaultTimeoutMs: 10_000 });
  env.track({ end: () => bus.close() });
  return {
    pool,
    store,
    bus,
    send: (name, payload, actor = 'alice') => bus.send('scheduler', name, payload, { actor, timeoutMs: 10_000 }),
    async eventsOf(type, where = {}) {
      const { rows } = await pool.query<{ stream_id: string; data: any; metadata: any; event_id: string }>(
        `SELECT stream_id, data, metadata, event_id FROM events
         WHERE type = $1 AND ($2::text IS NULL OR data->>'workflowId' = $2 OR data->>'id' = $2) ORDER BY global_position`,
        [type, where.workflowId ?? null],
      );
      return rows.map((r) => ({ streamId: r.stream_id, data: r.data, metadata: r.metadata, eventId: r.event_id }));
    },
    async append(streamId, events) {
      await store.append(streamId, events, { expected: 'any' });
    },
  };
}

export function workflowYaml(id: string, schedule: string, extra = ''): string {
  return `id: ${id}
owner: pricing-team
runbook: docs/runbooks/${id}.md
${schedule ? `schedule: ${schedule}\n` : ''}${extra}steps:
  - id: publish
    task: { handler: noop }
`;
}
