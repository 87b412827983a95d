import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { allEvents, EventRegistry, uuidv7, type EventData, type RawCaptured, type StoredEvent } from '@steward/contracts';
import { createPool, EventStore, type Cursor } from '@steward/event-store';
import { Logger } from '@steward/observability';
import type { TestEnvironment } from '@steward/testing';
import { TransformerModule, type TransformerOverrides } from '../app.module';
import { loadConfig } from '../config';
import { loadTransforms } from '../transforms/transform.registry';

export const EXAMPLE_TRANSFORMS = join(__dirname, '../../../../examples/transforms');

export type CaptureData = EventData<typeof RawCaptured>;

/** A transformer app in this process against the test file's database and namespace. */
export async function startTransformer(env: TestEnvironment, overrides: TransformerOverrides & { env?: Record<string, string> } = {}): Promise<{ app: INestApplication; logs: Record<string, unknown>[]; end(): Promise<void> }> {
  const config = loadConfig({ ...env.env(), LOG_LEVEL: 'warn', TRANSFORMER_TRANSFORMS: EXAMPLE_TRANSFORMS, ...overrides.env });
  const logs: Record<string, unknown>[] = [];
  const logger = new Logger({ service: 'transformer', level: config.LOG_LEVEL, write: (line) => logs.push(JSON.parse(line)) });
  const app = await NestFactory.create(await TransformerModule.forRoot(config, logger, { registry: loadTransforms([EXAMPLE_TRANSFORMS]), ...overrides }), { logger: false });
  await app.listen(0, '127.0.0.1');
  let closed = false;
  return {
    app,
    logs,
    async end() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

/** A store to append what other services would, and read what the transformer recorded. */
export function testStore(env: TestEnvironment): { pool: Pool; store: EventStore; registry: EventRegistry } {
  const pool = env.track(createPool(env.db.url, { max: 6 }));
  const registry = new EventRegistry(allEvents);
  return { pool, store: new EventStore(pool, { registry, source: 'test' }), registry };
}

/** The data of a collection.raw_captured event with an inline utf8 body, as the collector records it. */
export function captureOf(source: string, body: string, options: { at?: Date; contentType?: string; workflowId?: string; runId?: string; stepId?: string; n?: number } = {}): CaptureData {
  const at = options.at ?? new Date('2026-01-01T00:00:00Z');
  const sha = createHash('sha256').update(body).digest('hex');
  return {
    captureId: uuidv7(),
    source,
    ...(options.workflowId !== undefined && { workflowId: options.workflowId }),
    ...(options.runId !== undefined && { runId: options.runId }),
    ...(options.stepId !== undefined && { stepId: options.stepId }),
    fingerprint: createHash('sha256').update(`${source}:${at.toISOString()}:${options.n ?? Math.random()}`).digest('hex'),
    request: { kind: 'http', target: `https://example.test/${source}`, method: 'GET' },
    status: 200,
    contentType: options.contentType ?? 'text/csv',
    size: Buffer.byteLength(body),
    sha256: sha,
    headers: {},
    durationMs: 3,
    body: { storage: 'inline', encoding: 'utf8', data: body },
    capturedAt: at.toISOString(),
  };
}

export async function appendCapture(store: EventStore, capture: CaptureData): Promise<StoredEvent> {
  const { events } = await store.append(`capture-${capture.fingerprint}`, [{ type: 'collection.raw_captured', data: capture, metadata: { correlationId: capture.captureId, ...(capture.runId !== undefined && { runId: capture.runId }), ...(capture.workflowId !== undefined && { workflowId: capture.workflowId }) } }], { expected: 'no_stream' });
  return events[0]!;
}

export async function eventsOfType(store: EventStore, type: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let after: Cursor | undefined;
  for (;;) {
    const page = await store.query({ types: [type] }, { limit: 10_000, ...(after !== undefined && { after }) });
    out.push(...page.events);
    if (!page.next) return out;
    after = page.next;
  }
}
