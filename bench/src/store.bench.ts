// pnpm bench:store: Steward's append and relay throughput, each beside the
// raw Postgres / JetStream figure measured in the same run on the same machine.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Subjects, uuidv7, type NewEvent } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { declareTopology, provisionStreams } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { emit, env, freePort, publishAcked, rate, scratchDatabase } from './bench-kit';

const SINGLE = Number(process.env.BENCH_SINGLE ?? 3000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
const CONC_PER_WRITER = Number(process.env.BENCH_CONC ?? 400);
const RELAY_EVENTS = Number(process.env.BENCH_RELAY ?? 50_000);

const payload = { sku: 'SKU-000123', price: 1234, currency: 'EUR', source: 'portal.example', note: 'x'.repeat(120) };
const metadata = { correlationId: 'bench', source: 'bench', workflowId: 'bench-wf' };

const RAW_TABLE = `CREATE TABLE raw_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_id text NOT NULL, stream_version int NOT NULL, event_id uuid NOT NULL,
  type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now())`;
const RAW_INSERT = 'INSERT INTO raw_events (stream_id, stream_version, event_id, type, data, metadata) VALUES ';

function rawValues(n: number, offset = 0): { sql: string; params: unknown[] } {
  const rows: string[] = [];
  const params: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const b = i * 6;
    rows.push(`($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6})`);
    params.push(`raw-${offset}-${i}`, 1, uuidv7(), 'bench.happened', JSON.stringify(payload), JSON.stringify(metadata));
  }
  return { sql: RAW_INSERT + rows.join(','), params };
}

function events(n: number): NewEvent[] {
  return Array.from({ length: n }, () => ({ type: 'bench.happened', data: payload, metadata }));
}

async function appendBenches(pool: Pool, store: EventStore): Promise<void> {
  await pool.query(RAW_TABLE);
  // warm both paths (connections, plans)
  for (let i = 0; i < 200; i++) {
    const v = rawValues(1, -i - 1);
    await pool.query(v.sql, v.params);
    await store.append(`warm-${i}`, events(1), { expected: 'no_stream' });
  }

  const rawSingle = await rate(SINGLE, async () => {
    for (let i = 0; i < SINGLE; i++) {
      const v = rawValues(1, i);
      await pool.query(v.sql, v.params);
    }
  });
  const single = await rate(SINGLE, async () => {
    for (let i = 0; i < SINGLE; i++) await store.append(`single-${i}`, events(1), { expected: 'no_stream' });
  });
  emit({ bench: 'pg.insert.single', value: rawSingle, unit: 'rows/s' });
  emit({ bench: 'store.append.single', value: single, unit: 'events/s', limit: 'pg.insert.single', limit_value: rawSingle });

  const rawBatch = await rate(BATCHES * 100, async () => {
    for (let i = 0; i < BATCHES; i++) {
      const v = rawValues(100, SINGLE + i);
      await pool.query(v.sql, v.params);
    }
  });
  const batch = await rate(BATCHES * 100, async () => {
    for (let i = 0; i < BATCHES; i++) await store.append(`batch-${i}`, events(100), { expected: 'no_stream' });
  });
  emit({ bench: 'pg.insert.batch100', value: rawBatch, unit: 'rows/s' });
  emit({ bench: 'store.append.batch100', value: batch, unit: 'events/s', limit: 'pg.insert.batch100', limit_value: rawBatch });

  const writers = 16;
  const rawConc = await rate(writers * CONC_PER_WRITER, () =>
    Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < CONC_PER_WRITER; i++) {
          const v = rawValues(1, 1_000_000 + w * CONC_PER_WRITER + i);
          await pool.query(v.sql, v.params);
        }
      }),
    ).then(() => undefined),
  );
  const conc = await rate(writers * CONC_PER_WRITER, () =>
    Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < CONC_PER_WRITER; i++) await store.append(`conc-${w}-${i}`, events(1), { expected: 'no_stream' });
      }),
    ).then(() => undefined),
  );
  emit({ bench: 'pg.insert.conc16', value: rawConc, unit: 'rows/s' });
  emit({ bench: 'store.append.conc16', value: conc, unit: 'events/s', limit: 'pg.insert.conc16', limit_value: rawConc });
}

async function relayBench(dbUrl: string, pool: Pool, store: EventStore): Promise<void> {
  // The same client settings as the ledger's relay, so the ratio compares like with like.
  const nc = await connect({ servers: env.natsUrl, name: 'steward-bench', noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const logger = new Logger({ service: 'bench', level: 'error' });

  // Raw limit: pipelined JetStream publishes with Nats-Msg-Id, same body size, same stream config.
  const rawNs = new Subjects(`braw${process.pid}`);
  await provisionStreams(jsm, declareTopology(rawNs), logger);
  const body = JSON.stringify({ specversion: '1.0', id: uuidv7(), type: 'bench.happened', data: payload, ...metadata });
  const window = 1000;
  const rawPublish = await rate(RELAY_EVENTS, async () => {
    for (let i = 0; i < RELAY_EVENTS; i += window) {
      const n = Math.min(window, RELAY_EVENTS - i);
      await Promise.all(Array.from({ length: n }, () => js.publish(rawNs.event('bench.happened'), body, { msgID: uuidv7() })));
    }
  });
  emit({ bench: 'nats.publish.pipelined', value: rawPublish, unit: 'msgs/s' });
  // The same publishes as plain NATS messages whose JetStream acks come back to one reply subscription (what the
  // relay does since it stopped paying a request per publish): the faster of the two is the limit.
  const rawCore = await rate(RELAY_EVENTS, () =>
    publishAcked(nc, Array.from({ length: RELAY_EVENTS }, () => ({ subject: rawNs.event('bench.happened'), id: uuidv7(), data: body })), { window }),
  );
  emit({ bench: 'nats.publish.acked_core', value: rawCore, unit: 'msgs/s' });
  const [limitName, limitValue] = rawCore > rawPublish ? ['nats.publish.acked_core', rawCore] : ['nats.publish.pipelined', rawPublish];

  // Steward: the ledger process relays RELAY_EVENTS events committed in one go.
  const ns = `brel${process.pid}`;
  const subjects = new Subjects(ns);
  await provisionStreams(jsm, declareTopology(subjects), logger);
  const ledger = spawn(process.execPath, [join(__dirname, '..', '..', 'services', 'ledger', 'dist', 'main.js')], {
    env: { ...process.env, DATABASE_URL: dbUrl, NATS_URL: env.natsUrl, STEWARD_NAMESPACE: ns, PORT: String(await freePort()), LOG_LEVEL: 'error', RELAY_BATCH_SIZE: '1000' },
    stdio: 'inherit',
  });
  try {
    const already = (await store.headPosition()).globalPosition;
    // Let the relay catch up with what the append benches wrote, then measure fresh events only.
    await waitForCount(jsm, subjects, Number(already), 120_000);
    const client = await pool.connect();
    await client.query('BEGIN');
    for (let i = 0; i < RELAY_EVENTS; i += 500) await store.append(`relay-${i}`, events(Math.min(500, RELAY_EVENTS - i)), { expected: 'no_stream', tx: client });
    const start = process.hrtime.bigint();
    await client.query('COMMIT');
    client.release();
    await waitForCount(jsm, subjects, Number(already) + RELAY_EVENTS, 300_000);
    const relay = RELAY_EVENTS / (Number(process.hrtime.bigint() - start) / 1e9);
    emit({ bench: 'store.relay', value: relay, unit: 'events/s', limit: limitName, limit_value: limitValue });
  } finally {
    ledger.kill('SIGTERM');
    for (const s of [rawNs, subjects]) for (const name of ['EVENTS', 'COMMANDS', 'REPLAY', 'DLQ'] as const) await jsm.streams.delete(s.stream(name)).catch(() => undefined);
    await nc.drain();
  }
}

async function waitForCount(jsm: Awaited<ReturnType<typeof jetstreamManager>>, subjects: Subjects, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await jsm.streams.info(subjects.stream('EVENTS'));
    if (info.state.messages >= count) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`relay did not publish ${count} events within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  const db = await scratchDatabase(env.databaseUrl, 'store');
  const pool = createPool(db.url, { max: 20 });
  try {
    await migrate(db.url);
    const store = new EventStore(pool);
    await appendBenches(pool, store);
    await relayBench(db.url, pool, store);
  } finally {
    await pool.end();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
