// The raw limit of an event pipeline on this machine, with nothing of
// Steward in it: a publisher (a worker thread with its own connections, as
// the relay is its own process) optionally inserts each 100 envelopes into
// a table in one statement (the store's append) and publishes them to
// JetStream with a message id, pipelined; at the same time a durable pull
// consumer parses each message, copies `rows` rows per event into a table
// in one transaction per 500 messages (two batches in flight) and acks each.
// Events/s from the first publish to the last ack: what JetStream and
// Postgres on these cores allow for the same shape of work a service does.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Pool } from 'pg';
import { copyRows, unitOfWork } from '@steward/event-store';
import { publishAcked, rate } from './bench-kit';

export interface RawPipelineOptions {
  databaseUrl: string;
  natsUrl: string;
  /** Names a stream of its own (file storage, as the service's streams), deleted at the end. */
  name: string;
  /** Serialised envelopes, each with its `id`. */
  messages: Array<{ id: string; json: string }>;
  /** Insert each 100 into a table before publishing them (store append, then relay). */
  append: boolean;
  /** `concurrent`: publish while consuming (timed from the first publish); `before`: fill the stream first, time only the consumer. */
  publisher?: 'concurrent' | 'before';
  /** The COPY rows (text format, newline-terminated) one parsed event becomes. */
  rows: (event: { id: string; time: string; data: Record<string, unknown> }) => string;
  table: string;
  columns: readonly string[];
}

interface PublisherData {
  rawPipelinePublisher: true;
  databaseUrl: string;
  natsUrl: string;
  subject: string;
  messages: Array<{ id: string; json: string }>;
  append: boolean;
}

export async function rawPipelineRate(o: RawPipelineOptions): Promise<number> {
  const nc = await connect({ servers: o.natsUrl, name: 'steward-bench-raw' });
  const pool = new Pool({ connectionString: o.databaseUrl, max: 4 });
  try {
    if (o.append) await pool.query('CREATE TABLE IF NOT EXISTS raw_pipeline_events (position bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, type text NOT NULL, data jsonb NOT NULL)');
    const stream = `RAW_${o.name.toUpperCase()}`;
    const subject = `raw.${o.name}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, duplicate_window: 120_000_000_000 });
    try {
      await jsm.consumers.add(stream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 4_000 });
      const consumer = await jetstream(nc).consumers.get(stream, 'raw');
      let messages: Awaited<ReturnType<typeof consumer.consume>> | undefined;
      const total = o.messages.length;
      let failed: unknown;
      // The publisher loads and connects first, then waits for the start: its startup is not timed.
      const data: PublisherData = { rawPipelinePublisher: true, databaseUrl: o.databaseUrl, natsUrl: o.natsUrl, subject, messages: o.messages, append: o.append };
      const publisher = new Worker(__filename, { workerData: data });
      publisher.once('error', (err) => {
        failed = err;
        void messages?.close();
      });
      await new Promise<void>((resolve, reject) => {
        publisher.once('message', () => resolve());
        publisher.once('error', reject);
      });
      const published = new Promise<void>((resolve) => publisher.once('exit', () => resolve()));
      if (o.publisher === 'before') {
        publisher.postMessage('start');
        await published;
        if (failed !== undefined) throw failed;
      }
      messages = await consumer.consume({ max_messages: 2_000 });
      const perSecond = await rate(total, async () => {
        if (o.publisher !== 'before') publisher.postMessage('start');
        let seen = 0;
        let batch: Array<{ ack(): void; string(): string }> = [];
        let inFlight: Promise<unknown> = Promise.resolve();
        const store = async (msgs: typeof batch): Promise<void> => {
          let body = '';
          for (const m of msgs) body += o.rows(JSON.parse(m.string()) as { id: string; time: string; data: Record<string, unknown> });
          await unitOfWork(pool, (tx) => copyRows(tx, o.table, o.columns, body));
          for (const m of msgs) m.ack();
        };
        for await (const m of messages!) {
          batch.push(m);
          seen++;
          if (batch.length === 500 || seen === total) {
            const msgs = batch;
            batch = [];
            const previous = inFlight;
            inFlight = previous.then(() => store(msgs));
            await previous;
          }
          if (seen === total) break;
        }
        await inFlight;
        await messages!.close();
        if (failed !== undefined) throw failed;
        if (seen !== total) throw new Error(`the raw pipeline consumed ${seen} of ${total} messages`);
      });
      await published;
      return perSecond;
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
    }
  } finally {
    await nc.drain();
    await pool.end();
  }
}

async function publisherMain(d: PublisherData): Promise<void> {
  const nc = await connect({ servers: d.natsUrl, name: 'steward-bench-raw-publisher' });
  const js = jetstream(nc);
  const pool = d.append ? new Pool({ connectionString: d.databaseUrl, max: 1 }) : undefined;
  await js.jetstreamManager().then((jsm) => jsm.getAccountInfo()); // connected for real
  await pool?.query('SELECT 1');
  await new Promise<void>((resolve) => {
    parentPort!.once('message', () => resolve());
    parentPort!.postMessage('ready');
  });
  await publishAcked(
    nc,
    d.messages.map((m) => ({ subject: d.subject, id: m.id, data: m.json })),
    {
      // The store's append first: each 100 in one statement before they are published.
      before: async (from, to) => {
        if (!pool) return;
        const slice = d.messages.slice(from, to);
        const values = slice.map((_, k) => `($${k * 2 + 1}::uuid, 'raw', $${k * 2 + 2}::jsonb)`).join(',');
        await pool.query(`INSERT INTO raw_pipeline_events (id, type, data) VALUES ${values}`, slice.flatMap((m) => [m.id, m.json]));
      },
    },
  );
  await pool?.end();
  await nc.drain();
  parentPort!.close();
}

if (!isMainThread && (workerData as Partial<PublisherData> | null)?.rawPipelinePublisher) {
  publisherMain(workerData as PublisherData).catch((err: unknown) => {
    throw err;
  });
}
