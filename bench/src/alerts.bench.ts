// pnpm bench:alerts: how fast the alerter folds events into its signals
// while a rule set of 1,000 rules is applied (alerts.ingest, events/s, from
// the store's append through the relay, against the raw pipeline of the same
// shape on this machine: append, publish, consume, store a row, ack; and
// alerts.ingest.backlog, the alerter alone on events already published,
// against the raw consumer of a filled stream),
// and the p99 delay from a triggering event's append to the notification
// arriving at a local webhook receiver, for a rule whose `for` is zero, so
// the whole figure is the alerter's own delay (alerts.notify_p99_ms).
// The ledger and the alerter run as their containers run them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { allEvents, EventRegistry, Subjects, uuidv7, type NewEvent } from '@steward/contracts';
import { copyLine, createPool, EventStore, migrate } from '@steward/event-store';
import { CommandBus, connectNats } from '@steward/messaging';
import { ServiceProcess } from '@steward/testing';
import { emit, env, freePort, note, percentile, rate, scratchDatabase } from './bench-kit';
import { rawPipelineRate } from './raw-pipeline';

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
    const alerterEnv = { ...base, ALERTER_DISPATCH_INTERVAL_MS: '20', ALERTER_EVAL_INTERVAL_MS: '60000', ALERTER_DB_POOL_SIZE: '16' };
    let alerter = new ServiceProcess('alerter', await freePort(), alerterEnv).start();
    services.push(alerter);
    await alerter.waitReady();

    const bus = new CommandBus(nc, subjects);
    cleanups.push(() => bus.close());
    const applied = await bus.send('alerter', 'apply_alert_rules', { yaml: ruleFile(hook.url), file: 'bench-rules.yaml' }, { actor: 'bench', timeoutMs: 30_000 });
    if (applied.status !== 'completed') throw new Error(`apply_alert_rules: ${JSON.stringify(applied)}`);
    note(`applied ${RULES} rules`);

    const workflows = Array.from({ length: RULES }, (_, i) => `bw-${i}`);
    const now = () => new Date().toISOString();
    const succeeded = (from: number): NewEvent[][] => {
      const batches: NewEvent[][] = [];
      for (let i = 0; i < EVENTS; i += BATCH) {
        batches.push(Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, k) => ({
          type: 'run.succeeded',
          data: { runId: `br-${from + i + k}`, workflowId: workflows[(i + k) % workflows.length]!, succeededAt: now(), durationMs: 1000 + ((i + k) % 7) },
        })));
      }
      return batches;
    };
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
    for (const [b, batch] of succeeded(0).entries()) await store.append(`bench-runs-${b}`, batch, { expected: 'no_stream' });
    await waitHandled(before + EVENTS, 600_000);
    const seconds = (Date.now() - started) / 1000;
    const relaySeconds = Math.max(0.001, (lastPublishedAt - started) / 1000);
    const ingest = EVENTS / seconds;
    const relayRate = published / relaySeconds;
    note(`alerts.ingest ${Math.round(ingest)} events/s while the relay published ${Math.round(relayRate)}/s`);

    // ---- alerts.ingest.backlog: the alerter alone, started on EVENTS events the relay already published -------------
    await alerter.stop();
    published = 0;
    for (const [b, batch] of succeeded(EVENTS).entries()) await store.append(`bench-runs-backlog-${b}`, batch, { expected: 'no_stream' });
    const relayDeadline = Date.now() + 120_000;
    while (published < EVENTS && Date.now() < relayDeadline) await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    const handledBefore = await handled();
    alerter = new ServiceProcess('alerter', await freePort(), alerterEnv).start();
    services.push(alerter);
    let first = handledBefore;
    const firstDeadline = Date.now() + 60_000;
    while (first === handledBefore) {
      if (Date.now() > firstDeadline) throw new Error('the restarted alerter handled nothing within 60 s');
      await new Promise((r) => setTimeout(r, 10));
      first = await handled();
    }
    const fromBacklog = await rate(handledBefore + EVENTS - first, () => waitHandled(handledBefore + EVENTS, 600_000));
    await alerter.waitReady();

    // ---- the raw pipeline of the same shape: append 100, publish; consume, parse, COPY 1 row, ack --------------------
    await pool.query('CREATE TABLE raw_run_outcomes (LIKE alerter_run_outcomes INCLUDING ALL)');
    const rawMessages = succeeded(2 * EVENTS).flat().map((e) => {
      const id = uuidv7();
      return { id, json: JSON.stringify({ specversion: '1.0', id, source: 'bench', type: e.type, time: now(), data: e.data }) };
    });
    const rawRow = (e: { time: string; data: Record<string, unknown> }) => {
      const d = e.data as { runId: string; workflowId: string; durationMs: number; succeededAt: string };
      return copyLine([d.runId, d.workflowId, 'succeeded', d.durationMs, null, null, d.succeededAt]);
    };
    const rawOptions = { databaseUrl: db.url, natsUrl: env.natsUrl, table: 'raw_run_outcomes', columns: ['run_id', 'workflow_id', 'outcome', 'duration_ms', 'error', 'started_at', 'ended_at'], rows: rawRow };
    const pipeline = await rawPipelineRate({ ...rawOptions, name: `${ns}append`, append: true, publisher: 'concurrent', messages: rawMessages });
    await pool.query('TRUNCATE raw_run_outcomes');
    const pipelineBacklog = await rawPipelineRate({ ...rawOptions, name: `${ns}backlog`, append: false, publisher: 'before', messages: rawMessages });
    emit({ bench: 'raw.pipeline', value: pipeline, unit: 'events/s', labels: { shape: 'append 100 and publish while consume, parse, COPY 1 row, ack' } });
    emit({ bench: 'raw.pipeline.backlog', value: pipelineBacklog, unit: 'events/s', labels: { shape: 'consume, parse, COPY 1 row, ack from a filled stream' } });
    emit({ bench: 'alerts.ingest', value: ingest, unit: 'events/s', limit: 'raw.pipeline', limit_value: pipeline, labels: { rules: RULES, 'relay.publish': Math.round(relayRate) } });
    emit({ bench: 'alerts.ingest.backlog', value: fromBacklog, unit: 'events/s', limit: 'raw.pipeline.backlog', limit_value: pipelineBacklog, labels: { rules: RULES } });

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
