// pnpm bench:alerts: how fast the alerter folds events into its signals
// while a rule set of 1,000 rules is applied (alerts.ingest, events/s, beside
// the rate the relay published the same events: the limit it cannot beat),
// and the p99 delay from a triggering event's append to the notification
// arriving at a local webhook receiver, for a rule whose `for` is zero, so
// the whole figure is the alerter's own delay (alerts.notify_p99_ms).
// The ledger and the alerter run as their containers run them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { allEvents, EventRegistry, Subjects, uuidv7, type NewEvent } from '@steward/contracts';
import { createPool, EventStore, migrate } from '@steward/event-store';
import { CommandBus, connectNats } from '@steward/messaging';
import { ServiceProcess } from '@steward/testing';
import { emit, env, freePort, note, percentile, scratchDatabase } from './bench-kit';

const RULES = Number(process.env.BENCH_ALERT_RULES ?? 1000);
const EVENTS = Number(process.env.BENCH_ALERT_EVENTS ?? 20_000);
const SAMPLES = Number(process.env.BENCH_ALERT_SAMPLES ?? 100);
const BATCH = 100;

/** A webhook receiver that notes when each workflow's first firing notification arrived. */
async function receiver(): Promise<{ url: string; arrived: Map<string, number>; close: () => Promise<void> }> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts: Array<{ status: string; labels: Record<string, string> }> };
      for (const a of body.alerts) if (a.status === 'firing' && a.labels.workflow && !arrived.has(a.labels.workflow)) arrived.set(a.labels.workflow, at);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrived, close: () => new Promise((r) => server.close(() => r())) };
}

function ruleFile(url: string): string {
  const lines = [
    'receivers:',
    `  - { name: bench, webhook: { url: "${url}" } }`,
    'route: { receiver: bench, groupBy: [workflow, alertname], groupWait: 0s, groupInterval: 1m, repeatInterval: 4h }',
    'rules:',
  ];
  // One success-rate rule per workflow: each event is judged against the rule set of 1,000.
  for (let i = 0; i < RULES; i++) lines.push(`  - { name: rate-${i}, signal: success_rate, workflows: [bw-${i}], threshold: 0.5, window: 15m, minSamples: 5, severity: ticket }`);
  return lines.join('\n') + '\n';
}

async function deleteNamespace(jsm: JetStreamManager, subjects: Subjects): Promise<void> {
  const names: string[] = [];
  for await (const s of jsm.streams.list()) if (s.config.name.startsWith(subjects.streamPrefix) || s.config.name.startsWith(`KV_${subjects.streamPrefix}`)) names.push(s.config.name);
  for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const services: ServiceProcess[] = [];
  try {
    const db = await scratchDatabase(env.databaseUrl, 'alerts');
    cleanups.push(() => db.drop());
    await migrate(db.url);
    const ns = `balerts${process.pid}`;
    const subjects = new Subjects(ns);
    const nc = await connectNats(env.natsUrl, 'steward-bench', { noAsyncTraces: true });
    cleanups.push(() => nc.drain());
    const jsm = await jetstreamManager(nc);
    cleanups.push(() => deleteNamespace(jsm, subjects));
    const hook = await receiver();
    cleanups.push(() => hook.close());
    const pool = createPool(db.url, { max: 4 });
    cleanups.push(() => pool.end());
    const store = new EventStore(pool, { registry: new EventRegistry(allEvents), source: 'bench' });

    const base = { DATABASE_URL: db.url, NATS_URL: env.natsUrl, STEWARD_NAMESPACE: ns, LOG_LEVEL: 'warn' };
    const ledger = new ServiceProcess('ledger', await freePort(), base).start();
    services.push(ledger);
    await ledger.waitReady();
    const alerter = new ServiceProcess('alerter', await freePort(), { ...base, ALERTER_DISPATCH_INTERVAL_MS: '20', ALERTER_EVAL_INTERVAL_MS: '60000', ALERTER_DB_POOL_SIZE: '16' }).start();
    services.push(alerter);
    await alerter.waitReady();

    const bus = new CommandBus(nc, subjects);
    cleanups.push(() => bus.close());
    const applied = await bus.send('alerter', 'apply_alert_rules', { yaml: ruleFile(hook.url), file: 'bench-rules.yaml' }, { actor: 'bench', timeoutMs: 30_000 });
    if (applied.status !== 'completed') throw new Error(`apply_alert_rules: ${JSON.stringify(applied)}`);
    note(`applied ${RULES} rules`);

    const workflows = Array.from({ length: RULES }, (_, i) => `bw-${i}`);
    const now = () => new Date().toISOString();
    for (let i = 0; i < workflows.length; i += BATCH) {
      await store.append(
        `bench-workflows-${i}`,
        workflows.slice(i, i + BATCH).map((id) => ({ type: 'workflow.applied', data: { id, version: 1, hash: 'b'.repeat(64), definition: {}, owner: 'bench', runbook: 'bench/README.md', appliedAt: now() } })),
        { expected: 'no_stream' },
      );
    }
    const handled = async (): Promise<number> => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM inbox WHERE consumer = 'alerter'`)).rows[0]!.n);
    const waitHandled = async (n: number, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while ((await handled()) < n) {
        if (Date.now() > deadline) throw new Error(`the alerter handled ${await handled()} of ${n} events within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitHandled(RULES, 120_000);

    // ---- alerts.ingest --------------------------------------------------------------------------
    let published = 0;
    let lastPublishedAt = 0;
    const sub = nc.subscribe(subjects.event('run.succeeded'), {
      callback: () => {
        published += 1;
        lastPublishedAt = Date.now();
      },
    });
    const before = await handled();
    const started = Date.now();
    for (let i = 0; i < EVENTS; i += BATCH) {
      const batch: NewEvent[] = Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, k) => ({
        type: 'run.succeeded',
        data: { runId: `br-${i + k}`, workflowId: workflows[(i + k) % workflows.length]!, succeededAt: now(), durationMs: 1000 + ((i + k) % 7) },
      }));
      await store.append(`bench-runs-${i}`, batch, { expected: 'no_stream' });
    }
    await waitHandled(before + EVENTS, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const relaySeconds = Math.max(0.001, (lastPublishedAt - started) / 1000);
    sub.unsubscribe();
    emit({ bench: 'alerts.ingest', value: EVENTS / seconds, unit: 'events/s', limit: 'relay.publish', limit_value: published / relaySeconds, labels: { rules: RULES } });

    // ---- alerts.notify_p99_ms -------------------------------------------------------------------
    const delays: number[] = [];
    // When the relay published each sample's last failure: splits the delay into store + relay and the alerter's part.
    const publishedAt = new Map<string, number>();
    const failures = nc.subscribe(subjects.event('run.failed'), {
      callback: (_err, msg) => {
        const workflowId = (msg.json<{ data: { workflowId: string } }>()).data.workflowId;
        publishedAt.set(workflowId, Date.now());
      },
    });
    const relayed: number[] = [];
    const afterPublish: number[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const workflowId = workflows[k % workflows.length]!;
      const t0 = Date.now();
      // Three failed runs in a row: the built-in consecutive_failures rule (for: 0) fires on the third.
      const failures: NewEvent[] = Array.from({ length: 3 }, (_, j) => ({
        type: 'run.failed',
        data: { runId: `bf-${k}-${j}`, workflowId, failedSteps: [{ stepId: 'fetch', status: 'failed', error: { code: 'bench', message: 'bench failure', retryable: false } }], failedAt: now(), durationMs: 10 },
      }));
      await store.append(`bench-fail-${k}`, failures, { expected: 'no_stream' });
      const deadline = Date.now() + 30_000;
      while (!hook.arrived.has(workflowId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      const at = hook.arrived.get(workflowId);
      if (at === undefined) throw new Error(`no notification for ${workflowId} within 30 s`);
      delays.push(at - t0);
      const pub = publishedAt.get(workflowId);
      if (pub !== undefined) {
        relayed.push(pub - t0);
        afterPublish.push(at - pub);
      }
    }
    failures.unsubscribe();
    emit({ bench: 'alerts.notify_p99_ms', value: percentile(delays, 99), unit: 'ms', labels: { p50: Math.round(percentile(delays, 50)), samples: SAMPLES } });
    note(`notify delay p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms over ${SAMPLES} alerts`);
    note(`of which append + relay publish p50 ${percentile(relayed, 50)} ms, p99 ${percentile(relayed, 99)} ms; publish -> webhook (the alerter) p50 ${percentile(afterPublish, 50)} ms, p99 ${percentile(afterPublish, 99)} ms`);
  } finally {
    await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => note(`cleanup: ${String(err)}`));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
