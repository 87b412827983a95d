// pnpm bench:runs: no-op runs per second through scheduler -> executor ->
// worker -> executor, and p50/p99 from run.requested to run.succeeded, with
// 1 and 2 executor replicas, beside the raw JetStream publish rate measured
// in the same run. The built-in pool runs in warm isolation (task processes
// that run attempt after attempt); then, as diagnostics, the same runs with a
// fresh child process per attempt (`attempt` isolation) and with an
// in-process worker instead of the pool. Before that, one attempt timed
// alone, forked and warm, and throughout the CPU each process spent per run.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AckPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { CommandRejected, Subjects, uuidv7 } from '@steward/contracts';
import { migrate } from '@steward/event-store';
import { CommandBus, connectNats, declareTopology, decodeEnvelope, provisionStreams } from '@steward/messaging';
import { Logger } from '@steward/observability';
import { emit, env, freePort, note, percentile, rate, scratchDatabase } from './bench-kit';

const ROOT = join(__dirname, '..', '..');
const HANDLERS = join(ROOT, 'bench', 'handlers');
// A burst long enough to measure the steady rate: 300 runs took ~1.2 s at 250 runs/s, a quarter of
// which was the pipeline filling (the first run's path through five processes) and draining.
const RUNS = Number(process.env.BENCH_RUNS ?? 1_000);
/** The burst of the other isolation mode: a fresh process per attempt runs ~15 a second here. */
const OTHER_RUNS = Number(process.env.BENCH_OTHER_RUNS ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 20_000);
const WORKER_CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 4);
const ISOLATED = Number(process.env.BENCH_ISOLATED ?? 120);
/** Seconds of runs started at half the burst throughput, for latency below saturation; 0 skips. */
const PACED_S = Number(process.env.BENCH_PACED_S ?? 10);
/** Isolation of the built-in pool in the main phases (`warm`, default, or `attempt`); the diagnostic phase uses the other. */
const ISOLATION = process.env.BENCH_ISOLATION === 'attempt' ? 'attempt' : 'warm';
const OTHER_ISOLATION = ISOLATION === 'warm' ? 'attempt' : 'warm';
/** A folder: the services run with `--cpu-prof` and write their profiles there when stopped. */
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** BENCH_OTHER_ISOLATION=0 skips the diagnostic phase with the other isolation mode. */
const OTHER_PHASE = process.env.BENCH_OTHER_ISOLATION !== '0';
/** BENCH_UNISOLATED=0 skips the diagnostic phase with an in-process worker. */
const UNISOLATED = process.env.BENCH_UNISOLATED !== '0';
const WORKFLOW_ID = 'bench-noop';
const WORKFLOW = `id: ${WORKFLOW_ID}
owner: bench
runbook: bench/README.md
steps:
  - id: noop
    task: { handler: noop, queue: default }
`;

/** A service started as its container starts it: `node services/<name>/dist/main.js`. */
class Service {
  private readonly child: ChildProcess;
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;
  private done = false;

  constructor(
    readonly name: string,
    readonly port: number,
    serviceEnv: Record<string, string>,
  ) {
    const profile = CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${name}-${port}.cpuprofile`] : [];
    this.child = spawn(process.execPath, [...profile, join(ROOT, 'services', name, 'dist', 'main.js')], {
      // STEWARD_SERVICE_NODE_OPTIONS as for ServiceProcess (libs/testing): e.g. a --require that counts statements.
      env: { ...process.env, ...serviceEnv, PORT: String(port), NODE_OPTIONS: process.env.STEWARD_SERVICE_NODE_OPTIONS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer): void => {
      this.output.push(d.toString());
      if (this.output.length > 200) this.output.shift();
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.on('exit', () => ((this.done = true), resolve())));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitReady(timeoutMs = 30_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.done) {
      const res = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
      if (res?.ok) return this;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} (pid ${this.pid}) ${this.done ? 'exited' : `not ready after ${timeoutMs} ms`}:\n${this.tail()}`);
  }

  tail(): string {
    return this.output.join('').split('\n').slice(-30).join('\n');
  }

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Timestamps per run, from the events as the relay publishes them (core subscriptions, no consumer). */
class RunObserver {
  requested = new Map<string, number>();
  scheduled = new Map<string, number>();
  finished = new Map<string, { at: number; ok: boolean }>();
  private wake: (() => void) | undefined;
  private error: Error | undefined;

  constructor(nc: NatsConnection, subjects: Subjects) {
    const on = (type: string, record: (runId: string, at: number) => void): void => {
      nc.subscribe(subjects.event(type), {
        callback: (err, msg) => {
          if (err) return;
          const e = decodeEnvelope(msg);
          if (e.runid !== undefined) record(e.runid, Date.parse(e.time));
        },
      });
    };
    on('schedule.run_requested', (id, at) => this.scheduled.set(id, at));
    on('run.requested', (id, at) => this.requested.set(id, at));
    on('run.succeeded', (id, at) => this.finish(id, at, true));
    on('run.failed', (id, at) => this.finish(id, at, false));
    // start_run is posted, not awaited (CommandBus.post): a refusal shows up here.
    nc.subscribe(subjects.event(CommandRejected.type), {
      callback: (err, msg) => {
        if (err) return;
        const data = decodeEnvelope(msg).data as { command?: string; reason?: string };
        if (data.command === 'start_run') this.fail(new Error(`start_run was rejected: ${data.reason}`));
      },
    });
  }

  /** Ends the current waitFor with this error. */
  fail(err: Error): void {
    this.error ??= err;
    this.wake?.();
  }

  reset(): void {
    this.error = undefined;
    this.requested.clear();
    this.scheduled.clear();
    this.finished.clear();
  }

  async waitFor(runs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.finished.size < runs) {
      if (this.error) throw this.error;
      if (Date.now() > deadline) throw new Error(`only ${this.finished.size} of ${runs} runs ended within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 250);
      });
    }
  }

  private finish(runId: string, at: number, ok: boolean): void {
    this.finished.set(runId, { at, ok });
    this.wake?.();
  }
}

/**
 * A worker serving queue `default` in the bench process, without isolation:
 * consumes step.queued and reports started + succeeded at once, as the
 * pool's StepCommandPublisher does. Only for the diagnostic phase.
 */
class InlineWorker {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly bus: CommandBus,
  ) {}

  async start(): Promise<this> {
    const js = jetstream(this.nc);
    const stream = this.subjects.stream('EVENTS');
    const jsm = await js.jetstreamManager();
    // The pool of the earlier phases made `worker-default`; reuse it as a team's worker would.
    const exists = await jsm.consumers.info(stream, 'worker-default').catch(() => undefined);
    if (!exists) {
      await jsm.consumers.add(stream, { durable_name: 'worker-default', ack_policy: AckPolicy.Explicit, filter_subject: this.subjects.event('step.queued', 'task-default') });
    }
    const messages = await (await js.consumers.get(stream, 'worker-default')).consume({ max_messages: 100 });
    this.messages = messages;
    this.loop = (async () => {
      const inFlight = new Set<Promise<void>>();
      for await (const msg of messages) {
        const p = this.handle(msg).catch(() => msg.nak(200));
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await Promise.all(inFlight);
    })();
    return this;
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private async handle(msg: JsMsg): Promise<void> {
    const job = decodeEnvelope(msg).data as { runId: string; stepId: string; attempt: number };
    const ids = { runId: job.runId, stepId: job.stepId, attempt: job.attempt };
    const send = (name: string, payload: Record<string, unknown>): Promise<unknown> =>
      this.bus.post('executor', name, payload, { actor: 'worker:bench', correlationId: job.runId });
    await send('report_step_started', { ...ids, workerId: 'bench-inline' });
    await send('report_step_result', { ...ids, outcome: { status: 'succeeded', outputs: {} }, usage: { cpuMs: 0, maxRssKb: 0, wallMs: 0 }, reportedUsage: [] });
    msg.ack();
  }
}

// ---- CPU accounting: /proc, in clock ticks (USER_HZ, 100 on Linux) -----------------------------

const TICK_MS = 10;

interface ProcessTicks {
  own: number;
  /** Reaped children (cutime+cstime) plus the live children's own ticks: warm task processes run for minutes. */
  children: number;
}

interface CpuSample {
  /** utime+stime (own) and the ticks of its children, reaped and alive, per service pid. */
  services: Map<number, ProcessTicks>;
  postgres: number;
  nats: number;
  bench: number;
  machineBusy: number;
  at: number;
}

function procStat(pid: number | string): { comm: string; ppid: number; own: number; children: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // Fields after the comm start at field 3 (state): utime is field 14, so index 11.
    return { comm, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

function cpuSample(pids: readonly number[]): CpuSample {
  const services = new Map<number, ProcessTicks>();
  for (const pid of pids) {
    const s = procStat(pid);
    if (s) services.set(pid, { own: s.own, children: s.children });
  }
  let postgres = 0;
  let nats = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = procStat(entry);
    if (!s) continue;
    if (s.comm.startsWith('postgres')) postgres += s.own;
    else if (s.comm.startsWith('nats-server')) nats += s.own;
    // A live child's ticks move to the parent's cutime when it is reaped, so own + reaped stays exact across recycling.
    const parent = services.get(s.ppid);
    if (parent) parent.children += s.own + s.children;
  }
  const u = process.cpuUsage();
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const machineBusy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
  return { services, postgres, nats, bench: (u.user + u.system) / 1000 / TICK_MS, machineBusy, at: Date.now() };
}

/** CPU ms per run between two samples, per process group. */
function cpuPerRun(before: CpuSample, after: CpuSample, services: readonly Service[], runs: number): string {
  const per = (ticks: number): string => ((ticks * TICK_MS) / runs).toFixed(1);
  const parts: string[] = [];
  const byName = new Map<string, ProcessTicks>();
  for (const s of services) {
    const a = after.services.get(s.pid);
    const b = before.services.get(s.pid);
    if (!a || !b) continue;
    const acc = byName.get(s.name) ?? { own: 0, children: 0 };
    acc.own += a.own - b.own;
    acc.children += a.children - b.children;
    byName.set(s.name, acc);
  }
  for (const [name, t] of byName) parts.push(`${name} ${per(t.own)}${t.children > 0 ? ` (+ task processes ${per(t.children)})` : ''}`);
  parts.push(`postgres ${per(after.postgres - before.postgres)}`, `nats ${per(after.nats - before.nats)}`, `bench ${per(after.bench - before.bench)}`);
  return `CPU ms per run: ${parts.join(', ')}; whole machine ${per(after.machineBusy - before.machineBusy)} (${busyPercent(before, after)})`;
}

function busyPercent(before: CpuSample, after: CpuSample): string {
  const cores = availableParallelism();
  const pct = (100 * (after.machineBusy - before.machineBusy) * TICK_MS) / ((after.at - before.at) * cores);
  return `${pct.toFixed(0)}% of ${cores} cores busy`;
}

// ---- the isolation alone ------------------------------------------------------------------------

/** One attempt exactly as the pool runs it (libs/worker task.isolate.ts): fork, start, result, close. */
function isolatedAttempt(runner: string): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = fork(runner, [], {
      execArgv: ['--max-old-space-size=256'],
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      detached: true,
    });
    child.stdout!.resume();
    child.stderr!.resume();
    let ok = false;
    child.on('message', (m: { type?: string; outcome?: { status?: string } }) => {
      if (m.type === 'result') ok = m.outcome?.status === 'succeeded';
    });
    child.on('error', reject);
    child.on('close', () => (ok ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error('the noop attempt did not succeed'))));
    child.send({
      type: 'start',
      modulePath: join(HANDLERS, 'noop.handlers.js'),
      handler: 'noop',
      input: { inputs: {}, outputs: {} },
      identity: { runId: 'bench', stepId: 'noop', workflowId: WORKFLOW_ID, attempt: 1 },
      envKeys: [],
    });
  });
}

/** A warm task process as the pool keeps it (libs/worker isolate.warm.ts): forked once, one `start` at a time. */
class WarmChild {
  private readonly child: ChildProcess;
  private seq = 0;
  private pending: ((ok: boolean) => void) | undefined;

  constructor(runner: string) {
    this.child = fork(runner, ['--warm'], {
      execArgv: ['--max-old-space-size=256'],
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      detached: true,
    });
    this.child.stdout!.resume();
    this.child.stderr!.resume();
    this.child.on('message', (m: { type?: string; outcome?: { status?: string } }) => {
      if (m.type === 'result') this.pending?.(m.outcome?.status === 'succeeded');
    });
    this.child.send({ type: 'load', modulePath: join(HANDLERS, 'noop.handlers.js') });
  }

  get pid(): number {
    return this.child.pid!;
  }

  attempt(): Promise<number> {
    const start = process.hrtime.bigint();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending = (ok) => (ok ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error('the warm noop attempt did not succeed')));
      this.child.send({
        type: 'start',
        modulePath: join(HANDLERS, 'noop.handlers.js'),
        handler: 'noop',
        input: { inputs: {}, outputs: {} },
        identity: { runId: `bench-${seq}`, stepId: 'noop', workflowId: WORKFLOW_ID, attempt: 1 },
        envKeys: [],
        env: {},
        seq,
      });
    });
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

function bareNode(): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } });
    child.on('error', reject);
    child.on('close', () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
  });
}

async function isolationBench(): Promise<void> {
  const runner = join(ROOT, 'libs', 'worker', 'dist', 'task.runner.js');
  for (let i = 0; i < 5; i++) await isolatedAttempt(runner);
  const sequential: number[] = [];
  for (let i = 0; i < 30; i++) sequential.push(await isolatedAttempt(runner));
  const bare: number[] = [];
  for (let i = 0; i < 30; i++) bare.push(await bareNode());
  const cpuBefore = process.cpuUsage();
  const childrenBefore = procStat(process.pid)!.children;
  let next = 0;
  const throughput = await rate(ISOLATED, () =>
    Promise.all(
      Array.from({ length: WORKER_CONCURRENCY }, async () => {
        while (next++ < ISOLATED) await isolatedAttempt(runner);
      }),
    ).then(() => undefined),
  );
  const childCpuMs = ((procStat(process.pid)!.children - childrenBefore) * TICK_MS) / ISOLATED;
  const parentCpuMs = (process.cpuUsage(cpuBefore).user + process.cpuUsage(cpuBefore).system) / 1000 / ISOLATED;
  const warm = Array.from({ length: WORKER_CONCURRENCY }, () => new WarmChild(runner));
  try {
    for (const w of warm) for (let i = 0; i < 20; i++) await w.attempt();
    const warmSequential: number[] = [];
    for (let i = 0; i < 200; i++) warmSequential.push(await warm[0]!.attempt());
    const warmCpuBefore = process.cpuUsage();
    const warmTicksBefore = warm.reduce((sum, w) => sum + procStat(w.pid)!.own, 0);
    let n = 0;
    const attempts = ISOLATED * 10;
    const warmThroughput = await rate(attempts, () =>
      Promise.all(
        warm.map(async (w) => {
          while (n++ < attempts) await w.attempt();
        }),
      ).then(() => undefined),
    );
    const warmChildCpuMs = ((warm.reduce((sum, w) => sum + procStat(w.pid)!.own, 0) - warmTicksBefore) * TICK_MS) / attempts;
    const warmParentCpuMs = (process.cpuUsage(warmCpuBefore).user + process.cpuUsage(warmCpuBefore).system) / 1000 / attempts;
    emit({ bench: 'worker.warm_attempt.p50_ms', value: percentile(warmSequential, 50), unit: 'ms' });
    emit({ bench: 'worker.warm_attempt.throughput', value: warmThroughput, unit: 'attempts/s', labels: { concurrency: WORKER_CONCURRENCY } });
    note(`warm noop attempt: p50 ${percentile(warmSequential, 50).toFixed(2)} ms, p99 ${percentile(warmSequential, 99).toFixed(2)} ms one at a time`);
    note(
      `warm attempts at concurrency ${WORKER_CONCURRENCY}: ${warmThroughput.toFixed(0)}/s, CPU per attempt ${warmChildCpuMs.toFixed(2)} ms in the task process + ${warmParentCpuMs.toFixed(2)} ms in the parent`,
    );
  } finally {
    for (const w of warm) w.stop();
  }
  emit({ bench: 'worker.isolated_attempt.p50_ms', value: percentile(sequential, 50), unit: 'ms' });
  emit({ bench: 'worker.isolated_attempt.throughput', value: throughput, unit: 'attempts/s', labels: { concurrency: WORKER_CONCURRENCY } });
  note(`isolated noop attempt: p50 ${percentile(sequential, 50).toFixed(1)} ms, p99 ${percentile(sequential, 99).toFixed(1)} ms one at a time; bare \`node -e 0\` p50 ${percentile(bare, 50).toFixed(1)} ms`);
  note(`isolated attempts at concurrency ${WORKER_CONCURRENCY}: ${throughput.toFixed(1)}/s, CPU per attempt ${childCpuMs.toFixed(1)} ms in the child + ${parentCpuMs.toFixed(1)} ms in the parent`);
}

// ---- raw limit ----------------------------------------------------------------------------------

async function rawPublishRate(nc: NatsConnection, jsm: JetStreamManager, logger: Logger): Promise<number> {
  const rawNs = new Subjects(`brunsraw${process.pid}`);
  await provisionStreams(jsm, declareTopology(rawNs), logger);
  const js = jetstream(nc);
  try {
    const body = JSON.stringify({ specversion: '1.0', id: uuidv7(), type: 'bench.happened', data: { sku: 'SKU-000123', price: 1234, note: 'x'.repeat(120) }, correlationid: 'bench' });
    const window = 1000;
    return await rate(PUBLISHES, async () => {
      for (let i = 0; i < PUBLISHES; i += window) {
        const n = Math.min(window, PUBLISHES - i);
        await Promise.all(Array.from({ length: n }, () => js.publish(rawNs.event('bench.happened'), body, { msgID: uuidv7() })));
      }
    });
  } finally {
    await deleteNamespace(jsm, rawNs);
  }
}

async function deleteNamespace(jsm: JetStreamManager, subjects: Subjects): Promise<void> {
  const names: string[] = [];
  for await (const s of jsm.streams.list()) {
    const name = s.config.name;
    if (name.startsWith(subjects.streamPrefix) || name.startsWith(`KV_${subjects.streamPrefix}`)) names.push(name);
  }
  for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
}

// ---- one measured phase -------------------------------------------------------------------------

interface Phase {
  bus: CommandBus;
  observer: RunObserver;
  services: Service[];
  jsm: JetStreamManager;
  subjects: Subjects;
  limit: number;
  /** A connection to the scratch database, for its transaction counters. */
  pg: Client;
}

/** Transactions committed in the scratch database so far (Postgres flushes these counters about once a second). */
async function commits(p: Phase): Promise<number> {
  const { rows } = await p.pg.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.n ?? 0);
}

/** Never rejects (sends are often not awaited at once): a failure ends the batch through the observer. */
/**
 * Posted, not sent: CommandBus.send would wait for each outcome through a
 * subscription to every event, which at these rates cost the 2-core machine
 * about half a millisecond a run (the bench and nats-server) that no part of
 * Steward spends. The observer sees runs start and refusals.
 */
function startRun(p: Phase): Promise<void> {
  return p.bus.post('scheduler', 'start_run', { workflow: WORKFLOW_ID, input: {} }, { actor: 'bench' }).then(
    () => undefined,
    (err: unknown) => p.observer.fail(err instanceof Error ? err : new Error(String(err))),
  );
}

interface Batch {
  /** run.requested -> run.succeeded, ms, per succeeded run. */
  latencies: number[];
  /** schedule.run_requested -> run.succeeded, ms: also the wait for the executor to take the request. */
  fromSchedule: number[];
  failed: number;
  /** Succeeded runs / (last run.succeeded - first run.requested). */
  throughput: number;
}

/** Starts `runs` runs with `fire` and waits until each has succeeded or failed. */
async function batch(p: Phase, runs: number, fire: () => Promise<void>): Promise<Batch> {
  p.observer.reset();
  await fire();
  await p.observer.waitFor(runs, Math.max(120_000, runs * 500));
  const out: Batch = { latencies: [], fromSchedule: [], failed: 0, throughput: 0 };
  let firstRequested = Infinity;
  let lastSucceeded = -Infinity;
  for (const [runId, end] of p.observer.finished) {
    const requested = p.observer.requested.get(runId);
    if (requested === undefined) throw new Error(`run ${runId} ended but its run.requested was not seen`);
    firstRequested = Math.min(firstRequested, requested);
    if (!end.ok) {
      out.failed++;
      continue;
    }
    lastSucceeded = Math.max(lastSucceeded, end.at);
    out.latencies.push(end.at - requested);
    const scheduled = p.observer.scheduled.get(runId);
    if (scheduled !== undefined) out.fromSchedule.push(end.at - scheduled);
  }
  if (out.latencies.length === 0) throw new Error(`all ${out.failed} runs failed`);
  out.throughput = out.latencies.length / ((lastSucceeded - firstRequested) / 1000);
  return out;
}

const ms = (samples: number[], q: number): string => `${percentile(samples, q).toFixed(0)} ms`;

async function lastSeq(p: Phase): Promise<{ events: number; commands: number }> {
  const seq = async (name: 'EVENTS' | 'COMMANDS'): Promise<number> => (await p.jsm.streams.info(p.subjects.stream(name))).state.last_seq;
  return { events: await seq('EVENTS'), commands: await seq('COMMANDS') };
}

/**
 * Samples every consumer's backlog (pending + unacknowledged) every 500 ms
 * while a burst runs: where the queue builds is what the burst waits for.
 */
function backlogSampler(p: Phase): { stop(): Promise<string> } {
  const peak = new Map<string, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const stream of ['EVENTS', 'COMMANDS'] as const) {
        try {
          for await (const c of p.jsm.consumers.list(p.subjects.stream(stream))) {
            const backlog = c.num_pending + c.num_ack_pending;
            peak.set(c.name, Math.max(peak.get(c.name) ?? 0, backlog));
          }
        } catch {
          /* a consumer being replaced; the next sample sees it */
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...peak].map(([name, n]) => `${name} ${n}`).join(', ');
    },
  };
}

/**
 * A burst of `size` start_run commands at once (throughput, and latency with
 * the queue that builds), then runs at half that throughput, one every
 * 1/rate s for PACED_S (latency below saturation).
 */
async function measure(p: Phase, bench: string, labels: Record<string, string | number>, size = RUNS): Promise<void> {
  // Warm-up: JIT, pools, consumers of a new replica.
  await batch(p, WARMUP, () => Promise.all(Array.from({ length: WARMUP }, () => startRun(p))).then(() => undefined));

  await new Promise((r) => setTimeout(r, 1_200));
  const commitsBefore = await commits(p);
  const cpuBefore = cpuSample(p.services.map((s) => s.pid));
  const seqBefore = await lastSeq(p);
  const started = Date.now();
  let sent: Promise<unknown> = Promise.resolve();
  const backlog = backlogSampler(p);
  const burst = await batch(p, size, async () => {
    // Not awaited here: the commands' outcomes arrive while runs are already ending.
    sent = Promise.all(Array.from({ length: size }, () => startRun(p)));
  });
  await sent;
  const wallS = (Date.now() - started) / 1000;
  const cpuAfter = cpuSample(p.services.map((s) => s.pid));
  const peaks = await backlog.stop();
  await new Promise((r) => setTimeout(r, 1_200));
  // Includes the bench's own two reads of the counter.
  const commitsPerRun = (await commits(p)) - commitsBefore;
  const seqAfter = await lastSeq(p);
  const eventsPerRun = (seqAfter.events - seqBefore.events) / size;
  const commandsPerRun = (seqAfter.commands - seqBefore.commands) / size;
  const msgsPerRun = eventsPerRun + commandsPerRun;

  const tags = { ...labels, ...(burst.failed > 0 && { failed: burst.failed }) };
  emit({ bench: `${bench}.throughput`, value: burst.throughput, unit: 'runs/s', labels: tags, limit: 'nats.publish.pipelined', limit_value: p.limit });
  emit({ bench: `${bench}.p50_ms`, value: percentile(burst.latencies, 50), unit: 'ms', labels: { ...tags, load: 'burst' } });
  emit({ bench: `${bench}.p99_ms`, value: percentile(burst.latencies, 99), unit: 'ms', labels: { ...tags, load: 'burst' } });
  note(
    `${bench} ${JSON.stringify(labels)} burst of ${size}: ${burst.latencies.length} succeeded, ${burst.failed} failed, ${wallS.toFixed(1)} s from the first start_run; ` +
      `from schedule.run_requested p50 ${ms(burst.fromSchedule, 50)}, p99 ${ms(burst.fromSchedule, 99)}`,
  );
  note(
    `${eventsPerRun.toFixed(1)} events + ${commandsPerRun.toFixed(1)} commands published per run: ${(burst.throughput * msgsPerRun).toFixed(0)} msgs/s, ` +
      `${((100 * burst.throughput * msgsPerRun) / p.limit).toFixed(1)}% of the raw publish rate`,
  );
  note(cpuPerRun(cpuBefore, cpuAfter, p.services, size));
  note(`${(commitsPerRun / size).toFixed(1)} Postgres transactions committed per run`);
  note(`peak backlog per consumer (pending + unacknowledged) during the burst: ${peaks}`);

  if (PACED_S <= 0) return;
  const offered = Math.max(1, Math.round(burst.throughput * 5) / 10);
  const runs = Math.max(10, Math.round(offered * PACED_S));
  const paced = await batch(p, runs, async () => {
    const t0 = Date.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < runs; i++) {
      const wait = t0 + (i * 1000) / offered - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(startRun(p));
    }
    await Promise.all(sends);
  });
  const pacedTags = { ...labels, load: 'paced', offered_runs_per_s: offered, ...(paced.failed > 0 && { failed: paced.failed }) };
  emit({ bench: `${bench}.p50_ms`, value: percentile(paced.latencies, 50), unit: 'ms', labels: pacedTags });
  emit({ bench: `${bench}.p99_ms`, value: percentile(paced.latencies, 99), unit: 'ms', labels: pacedTags });
  note(`${bench} ${JSON.stringify(labels)} paced at ${offered} runs/s: ${runs} runs; from schedule.run_requested p50 ${ms(paced.fromSchedule, 50)}, p99 ${ms(paced.fromSchedule, 99)}`);
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const services: Service[] = [];
  let cleaned: Promise<void> | undefined;
  // Once, whether the bench ends, fails or is interrupted.
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      await Promise.all(services.map((s) => s.stop().catch(() => undefined)));
      for (const c of cleanups.reverse()) await c().catch((err: unknown) => note(`cleanup: ${String(err)}`));
    })());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    note(`${signal}: stopping services, dropping the database and streams`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const idle = cpuSample([]);
    await new Promise((r) => setTimeout(r, 2_000));
    note(`before the bench: ${busyPercent(idle, cpuSample([]))} (other work on this machine)`);
    await isolationBench();

    const db = await scratchDatabase(env.databaseUrl, 'runs');
    cleanups.push(() => db.drop());
    await migrate(db.url);

    const ns = `bruns${process.pid}`;
    const subjects = new Subjects(ns);
    const nc = await connectNats(env.natsUrl, 'steward-bench', { noAsyncTraces: true });
    cleanups.push(() => nc.drain());
    const jsm = await jetstreamManager(nc);
    cleanups.push(() => deleteNamespace(jsm, subjects));
    const logger = new Logger({ service: 'bench', level: 'error' });

    const limit = await rawPublishRate(nc, jsm, logger);
    emit({ bench: 'nats.publish.pipelined', value: limit, unit: 'msgs/s' });

    const base = { DATABASE_URL: db.url, NATS_URL: env.natsUrl, STEWARD_NAMESPACE: ns, LOG_LEVEL: 'warn' };
    const executorEnv = {
      ...base,
      STEWARD_HANDLERS: HANDLERS,
      EXECUTOR_WORKER_QUEUES: 'default',
      EXECUTOR_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      EXECUTOR_WORKER_ISOLATION: ISOLATION,
    };
    const start = async (name: string, serviceEnv: Record<string, string>): Promise<Service> => {
      const s = new Service(name, await freePort(), serviceEnv);
      services.push(s);
      return s;
    };
    const ledger = await start('ledger', base);
    await ledger.waitReady();
    const scheduler = await start('scheduler', base);
    const executor1 = await start('executor', executorEnv);
    await Promise.all([scheduler.waitReady(), executor1.waitReady()]);

    const bus = new CommandBus(nc, subjects);
    cleanups.push(() => bus.close());
    const applied = await bus.send('scheduler', 'apply_workflow', { yaml: WORKFLOW, file: 'bench-noop.yaml' }, { actor: 'bench', timeoutMs: 30_000 });
    if (applied.status !== 'completed') throw new Error(`apply_workflow: ${JSON.stringify(applied)}`);
    const observer = new RunObserver(nc, subjects);
    await nc.flush();

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    cleanups.push(() => pg.end());
    const phase = (running: Service[]): Phase => ({ bus, observer, limit, jsm, subjects, services: running, pg });
    await measure(phase([ledger, scheduler, executor1]), 'runs.noop', { executors: 1, isolation: ISOLATION });

    const executor2 = await (await start('executor', executorEnv)).waitReady();
    await measure(phase([ledger, scheduler, executor1, executor2]), 'runs.noop', { executors: 2, isolation: ISOLATION });
    await Promise.all([executor1.stop(), executor2.stop()]);

    if (OTHER_PHASE) {
      // Diagnostic: the other isolation mode (by default the strict one, a fresh child process per attempt).
      const other = await (await start('executor', { ...executorEnv, EXECUTOR_WORKER_ISOLATION: OTHER_ISOLATION })).waitReady();
      await measure(phase([ledger, scheduler, other]), 'runs.noop', { executors: 1, isolation: OTHER_ISOLATION }, OTHER_RUNS);
      await other.stop();
    }

    if (UNISOLATED) {
      // Diagnostic: the same path with no child process at all (an executor without a pool and a worker in the bench).
      const bare = await (await start('executor', base)).waitReady();
      const worker = await new InlineWorker(nc, subjects, bus).start();
      try {
        await measure(phase([ledger, scheduler, bare]), 'runs.noop.unisolated', { executors: 1 });
      } finally {
        await worker.stop();
      }
    }
  } catch (err) {
    for (const s of services) note(`${s.name} (pid ${s.pid}) last output:\n${s.tail()}`);
    throw err;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
