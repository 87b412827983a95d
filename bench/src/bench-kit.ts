import { createInbox, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

/** One figure, printed as one JSON line (DESIGN.md, Benchmarks). */
export interface Figure {
  bench: string;
  value: number;
  unit: string;
  limit?: string;
  limit_value?: number;
  /** Events stored when the figure was taken (latency benches at 1 and 10 million). */
  events?: number;
  /** What else tells the figure apart (`{ executors: 2 }`), printed after `unit`. */
  labels?: Record<string, string | number>;
}

export function emit(f: Figure): void {
  const out: Record<string, unknown> = { bench: f.bench, value: round(f.value), unit: f.unit, ...f.labels };
  if (f.limit !== undefined && f.limit_value !== undefined) {
    out.limit = f.limit;
    out.limit_value = round(f.limit_value);
    const ratio = f.value / f.limit_value;
    // Two decimals, or two significant digits below 0.01 (runs/s against msgs/s), so a small ratio never prints as 0.
    out.ratio = ratio >= 0.01 ? Math.round(ratio * 100) / 100 : Number(ratio.toPrecision(2));
  }
  if (f.events !== undefined) out.events = f.events;
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** Progress for people, on stderr, so stdout stays one JSON figure a line. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Wall-clock latency in ms of `fn(k)` for k = 0..samples-1, after `warmup`
 * unmeasured calls (plans cached, connections open). One call at a time: a
 * latency figure, not a throughput one.
 */
export async function latencies(samples: number, fn: (k: number) => Promise<unknown>, warmup = Math.min(20, samples)): Promise<number[]> {
  for (let k = 0; k < warmup; k++) await fn(samples + k);
  const out: number[] = [];
  for (let k = 0; k < samples; k++) {
    const start = process.hrtime.bigint();
    await fn(k);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}

function round(v: number): number {
  return v >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

/** Runs `fn` for `ops` operations of `size` items and returns items per second. */
export async function rate(items: number, fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return items / seconds;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A scratch database for one bench run, dropped at the end. */
export async function scratchDatabase(adminUrl: string, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `steward_bench_${label}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      if (process.env.BENCH_KEEP_DB === '1') {
        process.stderr.write(`[bench] BENCH_KEEP_DB=1: kept ${name}\n`);
        return;
      }
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const env = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};

export { freePort } from '@steward/testing';

/**
 * Publishes to JetStream the way the relay does: plain NATS publishes with a
 * Nats-Msg-Id whose acks come back to ONE reply subscription, at most
 * `window` unacknowledged (about twice the rate of nats.js's request per
 * publish on the 2-core machine). Resolves when every message is acked.
 */
export async function publishAcked(
  nc: NatsConnection,
  messages: ReadonlyArray<{ subject: string; id: string; data: string | Uint8Array; headers?: Record<string, string> }>,
  options: { window?: number; before?: (from: number, to: number) => Promise<void> } = {},
): Promise<void> {
  const window = options.window ?? 1_000;
  const inbox = createInbox();
  let acked = 0;
  let failed: Error | undefined;
  let waitFor = 0;
  let wake: (() => void) | undefined;
  const acks = nc.subscribe(`${inbox}.*`, {
    callback: (_err, msg) => {
      const body = msg.data.length > 0 ? (msg.json<{ error?: { description?: string } }>()) : { error: { description: `status ${msg.headers?.code ?? '?'}` } };
      if (body.error !== undefined) failed ??= new Error(`JetStream refused a publish: ${body.error.description ?? 'unknown'}`);
      acked++;
      if (acked >= waitFor || failed) wake?.();
    },
  });
  const until = async (n: number) => {
    waitFor = n;
    if (acked < n && !failed) await new Promise<void>((r) => (wake = r));
    if (failed) throw failed;
  };
  try {
    for (let i = 0; i < messages.length; i += 100) {
      const to = Math.min(messages.length, i + 100);
      await options.before?.(i, to);
      for (let k = i; k < to; k++) {
        const m = messages[k]!;
        const h = natsHeaders();
        h.set('Nats-Msg-Id', m.id);
        for (const [name, value] of Object.entries(m.headers ?? {})) h.set(name, value);
        nc.publish(m.subject, m.data, { reply: `${inbox}.${k}`, headers: h });
      }
      if (to - acked > window) await until(to - window);
    }
    await until(messages.length);
  } finally {
    acks.unsubscribe();
  }
}
