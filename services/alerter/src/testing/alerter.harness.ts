import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore } from '@steward/event-store';
import { CommandBus, type CommandOutcome } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { eventually, type TestEnvironment, startStoreRelay } from '@steward/testing';
import { ALERTER_TICKER, AlerterModule, type AlerterOverrides } from '../app.module';
import type { AlerterTicker } from '../alerter.ticker';
import { loadConfig } from '../config';
import { withBudgetEvent } from '../signals/budget.event';

/** A clock tests move by hand. */
export class TestClock {
  constructor(private at = new Date()) {}
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): Date {
    this.at = new Date(this.at.getTime() + ms);
    return this.now();
  }
  set(at: Date): void {
    this.at = new Date(at);
  }
}

export interface AlertRowView {
  alert_id: string;
  rule: string;
  severity: string;
  state: string;
  workflow_id: string | null;
  owner: string | null;
  summary: string | null;
  labels: Record<string, string>;
  runbook: string | null;
  notified: boolean;
}

export interface AlerterHarness {
  app: INestApplication;
  pool: Pool;
  store: EventStore;
  ticker: AlerterTicker;
  clock: TestClock;
  /** Appends one event as another service would; the relay brings it to the alerter. */
  emit(streamId: string, type: string, data: Record<string, unknown>, metadata?: Record<string, unknown>): Promise<StoredEvent>;
  applyWorkflow(id: string, options?: { owner?: string; runbook?: string; slo?: { successRate?: number; freshnessMs?: number } }): Promise<void>;
  /** A finished run, ended `agoMs` before the clock's now. */
  run(workflowId: string, outcome: 'succeeded' | 'failed' | 'timed_out', options?: { durationMs?: number; agoMs?: number; error?: string }): Promise<string>;
  /** Waits until the alerter has folded every event appended so far. */
  settle(): Promise<void>;
  alerts(where?: { workflow?: string; rule?: string }): Promise<AlertRowView[]>;
  alertEvents(alertId: string): Promise<StoredEvent[]>;
  send(name: string, payload: Record<string, unknown>, actor?: string): Promise<CommandOutcome>;
  close(): Promise<void>;
}

export async function startAlerter(env: TestEnvironment, overrides: AlerterOverrides & { env?: Record<string, string>; clock?: TestClock } = {}): Promise<AlerterHarness> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'warn', ALERTER_EVAL_INTERVAL_MS: '3600000', ALERTER_DISPATCH_INTERVAL_MS: '3600000', ...overrides.env });
  const clock = overrides.clock ?? new TestClock();
  const logger = new Logger({ service: 'alerter', level: config.LOG_LEVEL, write: (line) => (process.env.ALERTER_TEST_LOGS ? process.stderr.write(line + '\n') : undefined) });
  const app = await NestFactory.create(await AlerterModule.forRoot(config, logger, { startTicker: false, ...overrides, clock }), { logger: false });
  await app.listen(0, '127.0.0.1');
  const pool = createPool(env.db.url, { max: 4 });
  const registry = new EventRegistry(withBudgetEvent(allEvents));
  const store = new EventStore(pool, { registry, source: 'test' });
  const relay = startStoreRelay(store, env.nats.nc, env.nats.subjects, registry);
  const bus = new CommandBus(env.nats.nc, env.nats.subjects);
  const ticker = app.get<AlerterTicker>(ALERTER_TICKER);
  let pendingIds: string[] = [];

  const harness: AlerterHarness = {
    app,
    pool,
    store,
    ticker,
    clock,
    async emit(streamId, type, data, metadata = {}) {
      const { events } = await store.append(streamId, [{ type, data, metadata: { correlationId: streamId, ...metadata } }], { expected: 'any' });
      pendingIds.push(events[0]!.eventId);
      return events[0]!;
    },
    async applyWorkflow(id, options = {}) {
      await harness.emit(`workflow-${id}`, 'workflow.applied', {
        id,
        version: 1,
        hash: 'a'.repeat(64),
        definition: {},
        owner: options.owner ?? 'pricing-team',
        runbook: options.runbook ?? `docs/runbooks/${id}.md`,
        ...(options.slo !== undefined && { slo: options.slo }),
        appliedAt: clock.now().toISOString(),
      });
    },
    async run(workflowId, outcome, options = {}) {
      const runId = `r-${uuidv7()}`;
      const at = new Date(clock.now().getTime() - (options.agoMs ?? 0)).toISOString();
      const durationMs = options.durationMs ?? 1000;
      const data =
        outcome === 'succeeded'
          ? { runId, workflowId, succeededAt: at, durationMs }
          : outcome === 'failed'
            ? { runId, workflowId, failedSteps: [{ stepId: 'fetch', status: 'dead_lettered', error: { code: 'http_500', message: options.error ?? 'portal answered 500', retryable: true } }], failedAt: at, durationMs }
            : { runId, workflowId, timeoutMs: durationMs, timedOutAt: at };
      await harness.emit(`run-${runId}`, `run.${outcome}`, data, { workflowId, runId });
      return runId;
    },
    async settle() {
      const ids = pendingIds;
      pendingIds = [];
      if (ids.length === 0) return;
      await eventually(async () => {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'alerter' AND message_id = ANY($1::text[])`, [ids]);
        if (rows[0].n !== ids.length) throw new Error(`the alerter has handled ${rows[0].n} of ${ids.length} events`);
      }, 15_000);
    },
    async alerts(where = {}) {
      const { rows } = await pool.query<AlertRowView>(
        `SELECT alert_id, rule, severity, state, workflow_id, owner, summary, labels, runbook, notified FROM alerter_alerts
         WHERE ($1::text IS NULL OR workflow_id = $1) AND ($2::text IS NULL OR rule = $2) ORDER BY pending_at, alert_id`,
        [where.workflow ?? null, where.rule ?? null],
      );
      return rows;
    },
    alertEvents(alertId) {
      return store.readStream(`alert-${alertId}`);
    },
    send(name, payload, actor = 'ana') {
      return bus.send('alerter', name, payload, { actor, timeoutMs: 10_000 });
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

/** Fires a timer the alerter requested in an alert's stream, as the scheduler does at its due time. */
export async function fireAlertTimer(al: Pick<AlerterHarness, 'store' | 'clock'>, alertId: string, match: (t: { timerId: string; payload: Record<string, any> }) => boolean): Promise<string> {
  const requested = await eventually(async () => {
    const found = (await al.store.readStream(`alert-${alertId}`)).find((e) => e.type === 'timer.requested' && match(e.data as { timerId: string; payload: Record<string, any> }));
    if (!found) throw new Error(`alert ${alertId} requested no such timer`);
    return found;
  });
  const data = { ...(requested.data as Record<string, unknown>), firedAt: al.clock.now().toISOString() };
  const timerId = (requested.data as { timerId: string }).timerId;
  const { events } = await al.store.append(`timer-${timerId}`, [{ type: 'timer.fired', data, metadata: { correlationId: alertId, causationId: requested.eventId } }], { expected: 'no_stream' });
  return events[0]!.eventId;
}
