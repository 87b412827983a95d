// Shared by this package's specs only (excluded from the build).
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventRegistry, defineEvent, foundationEvents, uuidv7, type EventEnvelope } from '@steward/contracts';
import { z } from 'zod';
import { JetStreamExceptionFilter } from './jetstream.exception-filter';
import { JetStreamServer, type JetStreamServerOptions } from './jetstream.server';
import type { Logger } from './json.logger';

/** v2 `{ n }`; v1 was `{ count }` and is upcast on read. */
export function testEvent(type: string) {
  return defineEvent({
    type,
    version: 2,
    description: `test event ${type}`,
    schema: z.object({ n: z.number() }),
    history: [{ version: 1, schema: z.object({ count: z.number() }), upcast: (d: { count: number }) => ({ n: d.count }) }],
  });
}

export function registryOf(...types: string[]): EventRegistry {
  return new EventRegistry([...foundationEvents, ...types.map(testEvent)]);
}

export function envelope(type: string, data: unknown, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  const id = uuidv7();
  return {
    specversion: '1.0',
    id,
    source: 'steward.test',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschemaversion: 2,
    streamid: `test-${id}`,
    streamversion: 0,
    correlationid: id,
    data,
    ...overrides,
  };
}

export interface MemoryLogger extends Logger {
  entries: Array<{ level: string; msg: string } & Record<string, unknown>>;
}

export function memoryLogger(): MemoryLogger {
  const entries: MemoryLogger['entries'] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => {
    entries.push({ level, msg, ...fields });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A Nest microservice on a JetStreamServer, as a service's main.ts builds it. */
export async function startMicroservice(
  module: new (...args: never[]) => unknown,
  options: JetStreamServerOptions,
): Promise<{ app: INestMicroservice; server: JetStreamServer }> {
  const server = new JetStreamServer(options);
  const app = await NestFactory.createMicroservice(module, { strategy: server, logger: false });
  app.useGlobalFilters(new JetStreamExceptionFilter());
  await app.listen();
  return { app, server };
}

/** Every message currently stored in a stream, oldest first. */
export async function readStream(jsm: JetStreamManager, stream: string): Promise<StoredMsg[]> {
  const { state } = await jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(m);
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
