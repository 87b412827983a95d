// pnpm bench:replay: captures per second replayed through a JSON transform
// into a dataset (1 KiB captures, one row each), by the transformer started
// as its container starts it, beside the two raw limits measured in the same
// run: Postgres inserting 100-row batches into a dataset-shaped table, and a
// JetStream pull consumer fetching and acking the same messages. The slower
// raw figure is the replay's limit.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { allEvents, EventRegistry, Subjects, toEnvelope, uuidv7, type EventEnvelope } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { declareTopology, envelopeHeaders, provisionStreams, publishEvent } from '@steward/messaging';
import { Logger } from '@steward/observability';
import type { Pool } from 'pg';
import { emit, env, freePort, note, rate, scratchDatabase } from './bench-kit';

const ROOT = join(__dirname, '..', '..');
const CAPTURES = Number(process.env.BENCH_CAPTURES ?? 50_000);
const RAW_BATCHES = Number(process.env.BENCH_RAW_BATCHES ?? 500);
const REPLAY_BATCH = process.env.BENCH_REPLAY_BATCH ?? '500';
const REPLAY_CONCURRENCY = process.env.BENCH_REPLAY_CONCURRENCY ?? '3';
const FETCH = 500;
// BENCH_TRANSFORMER_NODE_OPTIONS: e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where the transformer spends its time.

/** The transform under test, written to a scratch folder: what a data engineer deploys. */
const TRANSFORM = `'use strict';
module.exports = {
  name: 'bench-items', version: 1, dataset: 'bench-items', parser: 'json',
  schema: (z) => z.object({ sku: z.string().min(1), name: z.string(), price: z.string().regex(/^\\d+\\.\\d{2}$/), currency: z.string().length(3), description: z.string() }),
  key: ['sku'],
};
`;

function body(i: number): string {
  const doc = { sku: `SKU-${i}`, name: `Item ${i}`, price: `${(i % 997) + 1}.${String(i % 100).padStart(2, '0')}`, currency: 'EUR', description: '' };
  const base = JSON.stringify(doc).length;
  doc.description = 'x'.repeat(Math.max(0, 1024 - base));
  return JSON.stringify(doc);
}

function captureEnvelope(i: number): EventEnvelope {
  const data = body(i);
  const captureId = uuidv7();
  const fingerprint = uuidv7().replace(/-/g, '').padEnd(64, '0');
  return {
    specversion: '1.0',
    id: uuidv7(),
    source: 'collector',
    type: 'collection.raw_captured',
    time: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    datacontenttype: 'application/json',
    dataschemaversion: 1,
    streamid: `capture-${fingerprint}`,
    streamversion: 1,
    correlationid: captureId,
    data: {
      captureId,
      source: 'bench.items',
      fingerprint,
      request: { kind: 'http', target: 'https://bench.example/items', method: 'GET' },
      status: 200,
      contentType: 'application/json',
      size: Buffer.byteLength(data),
      sha256: fingerprint,
      headers: {},
      durationMs: 1,
      body: { storage: 'inline', encoding: 'utf8', data },
      capturedAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    },
  };
}

async function publishAll(nc: NatsConnection, subject: string, envelopes: EventEnvelope[]): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < envelopes.length; i += 1000) {
    await Promise.all(envelopes.slice(i, i + 1000).map((e) => js.publish(subject, JSON.stringify(e), { msgID: e.id, headers: envelopeHeaders(e) })));
  }
}

/** Raw Postgres: 100-row multi-value inserts into a table shaped like transformer_rows, rows/s. */
async function rawInsertRate(pool: Pool, envelopes: EventEnvelope[]): Promise<number> {
  await pool.query('CREATE TABLE raw_rows (dataset text NOT NULL, version int NOT NULL, key text NOT NULL, data jsonb NOT NULL, PRIMARY KEY (dataset, version, key))');
  const batch = (b: number) => {
    const values: string[] = [];
    const params: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const e = envelopes[(b * 100 + i) % envelopes.length]!;
      params.push('raw', 1, `${b}-${i}`, (e.data as { body: { data: string } }).body.data);
      values.push(`($${i * 4 + 1},$${i * 4 + 2},$${i * 4 + 3},$${i * 4 + 4}::jsonb)`);
    }
    return { text: `INSERT INTO raw_rows (dataset, version, key, data) VALUES ${values.join(',')}`, values: params };
  };
  for (let b = 0; b < 20; b++) await pool.query(batch(1_000_000 + b)); // warm
  return rate(RAW_BATCHES * 100, async () => {
    for (let b = 0; b < RAW_BATCHES; b++) await pool.query(batch(b));
  });
}

/** Raw JetStream: a durable pull consumer fetching batches and acking each message, msgs/s. */
async function rawConsumeRate(nc: NatsConnection, jsm: JetStreamManager, subjects: Subjects, envelopes: EventEnvelope[]): Promise<number> {
  await publishAll(nc, subjects.replay('raw-consume', 'collection.raw_captured'), envelopes);
  const stream = subjects.stream('REPLAY');
  await jsm.consumers.add(stream, { durable_name: 'raw-consume', ack_policy: AckPolicy.Explicit, filter_subject: subjects.replays(), max_ack_pending: FETCH * 4 });
  const consumer = await jetstream(nc).consumers.get(stream, 'raw-consume');
  let seen = 0;
  return rate(envelopes.length, async () => {
    while (seen < envelopes.length) {
      const iter = await consumer.fetch({ max_messages: FETCH, expires: 2_000 });
      for await (const m of iter) {
        JSON.parse(m.string());
        m.ack();
        seen++;
      }
    }
  });
}

class Transformer {
  private readonly child: ChildProcess;
  private readonly output: string[] = [];

  constructor(readonly port: number, serviceEnv: Record<string, string>) {
    this.child = spawn(process.execPath, [join(ROOT, 'services', 'transformer', 'dist', 'main.js')], { env: { ...process.env, ...serviceEnv, PORT: String(port), NODE_OPTIONS: process.env.BENCH_TRANSFORMER_NODE_OPTIONS ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.output.push(d.toString());
      if (this.output.length > 100) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (res?.ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`transformer not ready after ${timeoutMs} ms:\n${this.output.join('')}`);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

async function replayRate(dbUrl: string, pool: Pool, nc: NatsConnection, subjects: Subjects, envelopes: EventEnvelope[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-transforms-'));
  writeFileSync(join(dir, 'bench-items.transform.js'), TRANSFORM);
  const transformer = new Transformer(await freePort(), {
    DATABASE_URL: dbUrl,
    NATS_URL: env.natsUrl,
    STEWARD_NAMESPACE: subjects.namespace,
    LOG_LEVEL: 'error',
    TRANSFORMER_TRANSFORMS: dir,
    TRANSFORMER_REPLAY_BATCH: REPLAY_BATCH,
    TRANSFORMER_REPLAY_CONCURRENCY: REPLAY_CONCURRENCY,
  });
  try {
    await transformer.waitReady();
    const registry = new EventRegistry(allEvents);
    const store = new EventStore(pool, { registry, source: 'bench' });
    const js = jetstream(nc);
    const replayId = 'bench-replay';
    const say = async (type: string, data: Record<string, unknown>) => {
      const { events } = await store.append(`replay-${replayId}`, [{ type, data, metadata: { correlationId: replayId } }], { expected: 'any' });
      // What the ledger's relay would do: the transformer learns of the replay from the events stream.
      await publishEvent(js, subjects, toEnvelope(events[0]!), registry, { fromStore: true });
    };
    await say('replay.started', { replayId, kind: 'backfill', selection: { types: ['collection.raw_captured'], source: 'bench.items' }, consumer: 'transformer', transform: 'bench-items@1', dryRun: false, total: envelopes.length, upTo: { transactionId: '1', position: '1' }, startedAt: new Date().toISOString() });
    await waitFor(async () => (await pool.query('SELECT 1 FROM transformer_replays WHERE replay_id = $1', [replayId])).rowCount === 1, 30_000, 'replay.started to be projected');
    const perSecond = await rate(envelopes.length, async () => {
      await publishAll(nc, subjects.replay(replayId, 'collection.raw_captured'), envelopes);
      await say('replay.published', { replayId, published: envelopes.length, total: envelopes.length, durationMs: 1, at: new Date().toISOString() });
      await waitFor(async () => (await pool.query('SELECT 1 FROM transformer_replays WHERE replay_id = $1 AND completed_at IS NOT NULL', [replayId])).rowCount === 1, 600_000, 'the replay to complete');
    });
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM transformer_rows WHERE dataset = 'bench-items'");
    if (Number(rows[0]!.n) !== envelopes.length) throw new Error(`expected ${envelopes.length} rows in bench-items, found ${rows[0]!.n}`);
    return perSecond;
  } finally {
    await transformer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function main(): Promise<void> {
  const db = await scratchDatabase(env.databaseUrl, 'replay');
  const pool = createPool(db.url, { max: 8 });
  const nc = await connect({ servers: env.natsUrl, name: 'steward-bench', noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const logger = new Logger({ service: 'bench', level: 'error' });
  const rawNs = new Subjects(`brraw${process.pid}`);
  const ns = new Subjects(`brep${process.pid}`);
  try {
    await migrate(db.url);
    for (const s of [rawNs, ns]) await provisionStreams(jsm, declareTopology(s), logger);
    note(`building ${CAPTURES} 1 KiB captures`);
    const envelopes = Array.from({ length: CAPTURES }, (_, i) => captureEnvelope(i));
    const pg = await rawInsertRate(pool, envelopes);
    emit({ bench: 'pg.insert.batch100', value: pg, unit: 'rows/s' });
    const consume = await rawConsumeRate(nc, jsm, rawNs, envelopes);
    emit({ bench: 'nats.consume.pull', value: consume, unit: 'msgs/s' });
    note(`replaying ${CAPTURES} captures through the transformer`);
    const replay = await replayRate(db.url, pool, nc, ns, envelopes);
    const [limit, limitValue] = pg <= consume ? ['pg.insert.batch100', pg] : ['nats.consume.pull', consume];
    emit({ bench: 'replay.json', value: replay, unit: 'captures/s', limit, limit_value: limitValue });
  } finally {
    for (const s of [rawNs, ns]) for (const name of ['EVENTS', 'COMMANDS', 'REPLAY', 'DLQ'] as const) await jsm.streams.delete(s.stream(name)).catch(() => undefined);
    await nc.drain();
    await pool.end();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
