import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore } from '@steward/event-store';
import { CommandBus, type CommandOutcome } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, type TestEnvironment, startStoreRelay } from '@steward/testing';
import { hashWorkflow, parseWorkflow, type RunTrigger, type WorkflowDefinition } from '@steward/workflow';
import { ExecutorModule, type ExecutorOverrides } from '../app.module';
import { loadConfig } from '../config';

export interface RequestOptions {
  runId?: string;
  trigger?: RunTrigger;
  input?: Record<string, unknown>;
  occurrence?: { id: string; at: string };
}

/**
 * An executor running in this process against the test file's database and
 * namespace, with a relay standing in for the ledger and helpers that do
 * what the scheduler and the gateway would: request runs, fire timers, send
 * operator commands.
 */
export interface ExecutorHarness {
  app: INestApplication;
  pool: Pool;
  store: EventStore;
  logs: Record<string, unknown>[];
  requestRun(workflow: WorkflowDefinition, options?: RequestOptions): Promise<string>;
  events(runId: string): Promise<StoredEvent[]>;
  types(runId: string): Promise<string[]>;
  /** Waits until the run stream holds an event of `type` (optionally matching `where`). */
  waitForEvent(runId: string, type: string, where?: (data: any) => boolean, timeoutMs?: number): Promise<StoredEvent>;
  waitForStatus(runId: string, status: string, timeoutMs?: number): Promise<void>;
  /** The timer.requested events of a run, in order. */
  timers(runId: string): Promise<Array<{ timerId: string; dueAt: string; payload: Record<string, any> }>>;
  /** Appends timer.fired for a requested timer, as the scheduler does at its due time. */
  fireTimer(runId: string, match: (t: { timerId: string; payload: Record<string, any> }) => boolean): Promise<string>;
  send(name: string, payload: Record<string, unknown>, actor?: string, timeoutMs?: number): Promise<CommandOutcome>;
  close(): Promise<void>;
}

export function workflow(yaml: string): WorkflowDefinition {
  return parseWorkflow(yaml.trim() + '\n');
}

export async function startExecutor(env: TestEnvironment, overrides: ExecutorOverrides & { env?: Record<string, string> } = {}): Promise<ExecutorHarness> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'warn', ...overrides.env });
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ service: 'executor', level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = await NestFactory.create(await ExecutorModule.forRoot(config, logger, overrides), { logger: false });
  await app.listen(0, '127.0.0.1');
  const pool = createPool(env.db.url, { max: 4 });
  const registry = new EventRegistry(allEvents);
  const store = new EventStore(pool, { registry, source: 'test' });
  const relay = startStoreRelay(store, env.nats.nc, env.nats.subjects, registry);
  const bus = new CommandBus(env.nats.nc, env.nats.subjects);

  const events = (runId: string) => store.readStream(`run-${runId}`);
  const timers = async (runId: string) =>
    (await events(runId)).filter((e) => e.type === 'timer.requested').map((e) => e.data as { timerId: string; dueAt: string; payload: Record<string, any> });

  const harness: ExecutorHarness = {
    app,
    pool,
    store,
    logs,
    async requestRun(definition, options = {}) {
      const runId = options.runId ?? `r-${uuidv7()}`;
      const data = {
        workflowId: definition.id,
        version: 1,
        hash: hashWorkflow(definition),
        definition,
        runId,
        trigger: options.trigger ?? { kind: 'manual', actor: 'tester' },
        ...(options.occurrence !== undefined && { occurrence: options.occurrence }),
        input: options.input ?? {},
        requestedAt: new Date().toISOString(),
      };
      await store.append(`manual-${runId}`, [{ type: 'schedule.run_requested', data, metadata: { correlationId: runId, workflowId: definition.id, runId } }], { expected: 'no_stream' });
      return runId;
    },
    events,
    async types(runId) {
      return (await events(runId)).map((e) => e.type);
    },
    async waitForEvent(runId, type, where = () => true, timeoutMs = 15_000) {
      return eventually(async () => {
        const found = (await events(runId)).find((e) => e.type === type && where(e.data));
        if (!found) throw new Error(`run ${runId} has no ${type} yet: ${(await harness.types(runId)).join(', ')}`);
        return found;
      }, timeoutMs);
    },
    async waitForStatus(runId, status, timeoutMs = 15_000) {
      await eventually(async () => {
        const { rows } = await pool.query<{ status: string }>('SELECT status FROM executor_runs WHERE run_id = $1', [runId]);
        expect(rows[0]?.status).toBe(status);
      }, timeoutMs);
    },
    timers,
    async fireTimer(runId, match) {
      const timer = await eventually(async () => {
        const t = (await timers(runId)).find(match);
        if (!t) throw new Error(`run ${runId} requested no such timer: ${(await timers(runId)).map((x) => x.timerId).join(', ')}`);
        return t;
      });
      const requested = (await events(runId)).find((e) => e.type === 'timer.requested' && (e.data as { timerId: string }).timerId === timer.timerId)!;
      const data = { ...(requested.data as Record<string, unknown>), firedAt: new Date().toISOString() };
      await store.append(`timer-${timer.timerId}`, [{ type: 'timer.fired', data, metadata: { correlationId: runId, causationId: requested.eventId, runId } }], { expected: 'no_stream' });
      return timer.timerId;
    },
    send(name, payload, actor = 'ana', timeoutMs = 10_000) {
      return bus.send('executor', name, payload, { actor, timeoutMs });
    },
    async close() {
      await bus.close();
      await relay.stop();
      await app.close();
      await pool.end();
    },
  };
  return harness;
}
