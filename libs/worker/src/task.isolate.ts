import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject, ReportedUsage, TaskInput } from './handler.define';
import { scrubSecrets, scrubValue } from './environment.profile';
import { sampleProcess } from './resource.sample';
import { isChildMessage, type AttemptIdentity, type AttemptOutcome, type ChildMessage, type ParentMessage } from './task.protocol';

export interface AttemptUsage {
  cpuMs: number;
  maxRssKb: number;
  wallMs: number;
}

export interface AttemptReport {
  outcome: AttemptOutcome;
  usage: AttemptUsage;
  reportedUsage: ReportedUsage[];
}

export type AbortReason = 'cancelled' | 'timeout';
export type TaskLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface IsolatedAttempt {
  modulePath: string;
  handler: string;
  input: TaskInput;
  identity: AttemptIdentity;
  memoryMb: number;
  timeoutMs: number;
  /** The profile's variables, injected into the child's environment. */
  env?: Record<string, string>;
  /** Values scrubbed from everything the child says (logs, output streams, error messages). */
  secrets?: readonly string[];
  /** Aborting with reason 'cancelled' or 'timeout' stops the attempt with that outcome. */
  signal?: AbortSignal;
  onHeartbeat?: () => void;
  onLog?: (level: TaskLogLevel, msg: string, fields: JsonObject) => void;
  /** Time between ctx.signal aborting and SIGKILL, for handlers that clean up. Default 1000 ms. */
  killGraceMs?: number;
  /** How often the watchdog reads the child's RSS. Default 50 ms. */
  sampleIntervalMs?: number;
  /** Worker variables a child inherits besides its profile (PATH and the like; never secrets). */
  inheritEnv?: readonly string[];
}

const DEFAULT_INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_ENV'];
const HEAP_OOM = /heap out of memory|Reached heap limit/i;

/** dist/task.runner.js, also when this file runs from src under jest (build first). */
export function runnerPath(): string {
  const candidates = [join(__dirname, 'task.runner.js'), join(__dirname, '..', 'dist', 'task.runner.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`task runner not found (looked in ${candidates.join(', ')}); run pnpm build`);
  return found;
}

/**
 * Runs one attempt in its own process: a fresh heap per attempt (no state
 * leaks between tasks), a V8 heap cap plus an RSS watchdog (Buffers live
 * outside the heap, so the cap alone would not stop them), the step timeout,
 * and cancellation. Never rejects: every ending is an outcome.
 */
export function runIsolated(spec: IsolatedAttempt): Promise<AttemptReport> {
  return new Promise((resolve) => new IsolatedRun(spec, resolve).start());
}

export type StopReason = AbortReason | 'resource_exhausted';

/** The worker variables a task process starts with (never the worker's secrets). */
export function inheritedEnv(names: readonly string[] = DEFAULT_INHERITED): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of names) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return env;
}

/** The report of an attempt stopped before any process ran it. */
export function notStarted(reason: AbortReason): AttemptReport {
  const message = reason === 'timeout' ? 'timed out before it started' : 'the step was cancelled';
  return {
    outcome: { status: 'failed', error: { code: reason, message, retryable: reason === 'timeout' } },
    usage: { cpuMs: 0, maxRssKb: 0, wallMs: 0 },
    reportedUsage: [],
  };
}

/** How an attempt ended, from why the pool stopped it, the child's result and how the child exited. */
export function attemptOutcome(o: {
  stopReason: StopReason | undefined;
  result: AttemptOutcome | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  overLimitKb: number;
  memoryMb: number;
  timeoutMs: number;
  secrets: readonly string[];
}): AttemptOutcome {
  const failed = (c: string, message: string, retryable: boolean): AttemptOutcome => ({ status: 'failed', error: { code: c, message, retryable } });
  switch (o.stopReason) {
    case 'resource_exhausted':
      return failed('resource_exhausted', `exceeded its memory limit of ${o.memoryMb} MB (resident ${Math.round(o.overLimitKb / 1024)} MB); killed`, false);
    case 'timeout':
      return failed('timeout', `did not finish within ${o.timeoutMs} ms; killed`, true);
    case 'cancelled':
      return failed('cancelled', 'the step was cancelled', false);
  }
  if (o.result) {
    return o.result.status === 'failed' ? { status: 'failed', error: { ...o.result.error, message: scrubSecrets(o.result.error.message, o.secrets) } } : o.result;
  }
  if (HEAP_OOM.test(o.stderrTail)) return failed('resource_exhausted', `ran out of its ${o.memoryMb} MB heap`, false);
  const how = o.signal !== null ? `signal ${o.signal}` : `code ${o.code}`;
  return failed('worker_crashed', scrubSecrets(`the task process exited with ${how} before reporting a result: ${o.stderrTail.slice(-500)}`.trim(), o.secrets), true);
}

/** Forwards a child's output stream line by line (lines capped at 4,000 characters); `onChunk` sees the raw text. */
export function pipeLines(stream: NodeJS.ReadableStream | null, onChunk: ((chunk: string) => void) | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    onChunk?.(chunk);
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line.slice(0, 4_000));
  });
  stream.on('end', () => {
    if (buffer.trim() !== '') onLine(buffer.slice(0, 4_000));
  });
}

class IsolatedRun {
  private child!: ChildProcess;
  private readonly started = Date.now();
  private readonly secrets: readonly string[];
  private result: Extract<ChildMessage, { type: 'result' }> | undefined;
  private stopReason: StopReason | undefined;
  private peakRssKb = 0;
  private overLimitKb = 0;
  private lastCpuMs = 0;
  private stderrTail = '';
  private readonly reported: ReportedUsage[] = [];
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly spec: IsolatedAttempt,
    private readonly resolve: (report: AttemptReport) => void,
  ) {
    this.secrets = spec.secrets ?? [];
  }

  start(): void {
    if (this.spec.signal?.aborted) return this.finishWithoutProcess(this.spec.signal.reason as AbortReason);
    const env = { ...inheritedEnv(this.spec.inheritEnv), ...this.spec.env };
    this.child = fork(runnerPath(), [], {
      // Explicit, so the parent's own flags (a debugger, jest's) never leak into tasks.
      execArgv: [`--max-old-space-size=${this.spec.memoryMb}`],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // Own process group: killing it also ends whatever the handler spawned.
      detached: true,
    });
    this.child.on('message', (m) => this.onMessage(m));
    // 'close', not 'exit': the output streams and IPC are drained by then, so no last line or result is lost.
    this.child.on('close', (code, signal) => this.finish(code, signal));
    this.child.on('error', (err) => this.log('error', 'task process error', { err: err.message }));
    this.pipeLines(this.child.stdout, 'info', 'stdout');
    this.pipeLines(this.child.stderr, 'warn', 'stderr');
    const interval = setInterval(() => this.watch(), this.spec.sampleIntervalMs ?? 50);
    this.timers.push(interval);
    this.timers.push(setTimeout(() => this.stop('timeout'), this.spec.timeoutMs));
    this.spec.signal?.addEventListener('abort', () => this.stop((this.spec.signal!.reason as AbortReason) ?? 'cancelled'), { once: true });
    const start: ParentMessage = {
      type: 'start',
      modulePath: this.spec.modulePath,
      handler: this.spec.handler,
      input: this.spec.input,
      identity: this.spec.identity,
      envKeys: Object.keys(this.spec.env ?? {}),
    };
    this.child.send(start);
  }

  private onMessage(raw: unknown): void {
    if (!isChildMessage(raw)) return;
    switch (raw.type) {
      case 'log':
        return this.log(raw.level, raw.msg, raw.fields ?? {});
      case 'heartbeat':
        return this.spec.onHeartbeat?.();
      case 'usage':
        this.reported.push(scrubValue(raw.usage, this.secrets));
        return;
      case 'result':
        this.result = raw;
        // The result is in hand; the process only has to exit. Node can deadlock in process.exit() (seen
        // with gdb: the main thread joining a V8 background thread that waits for a GC the exiting main
        // thread will never run), and nothing else would end it: the timeout leaves a reported attempt
        // alone, so the attempt never finished and its slot stayed taken. A process that does not exit
        // within the kill grace of its result is killed; the result stands.
        this.timers.push(setTimeout(() => this.kill(), this.spec.killGraceMs ?? 1_000));
        return;
    }
  }

  private watch(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const sample = sampleProcess(pid);
    if (!sample) return;
    this.peakRssKb = Math.max(this.peakRssKb, sample.peakRssKb, sample.rssKb);
    this.lastCpuMs = sample.cpuMs;
    if (sample.rssKb > this.spec.memoryMb * 1024) {
      this.overLimitKb = sample.rssKb;
      this.stop('resource_exhausted');
    }
  }

  private stop(reason: StopReason): void {
    // A result already in hand wins over a timer that fired while the child was exiting.
    if (this.stopReason !== undefined || this.result !== undefined || this.child.exitCode !== null) return;
    this.stopReason = reason;
    if (reason === 'resource_exhausted') return this.kill();
    if (this.child.connected) this.child.send({ type: 'abort', reason } satisfies ParentMessage);
    this.timers.push(setTimeout(() => this.kill(), this.spec.killGraceMs ?? 1_000));
  }

  private kill(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    for (const t of this.timers) clearTimeout(t);
    const wallMs = Date.now() - this.started;
    const usage: AttemptUsage = {
      cpuMs: this.result ? Math.round(this.result.cpuMicros / 1000) : this.lastCpuMs,
      maxRssKb: Math.max(this.peakRssKb, this.result?.maxRssKb ?? 0),
      wallMs,
    };
    this.resolve({
      outcome: attemptOutcome({
        stopReason: this.stopReason,
        result: this.result?.outcome,
        code,
        signal,
        stderrTail: this.stderrTail,
        overLimitKb: this.overLimitKb,
        memoryMb: this.spec.memoryMb,
        timeoutMs: this.spec.timeoutMs,
        secrets: this.secrets,
      }),
      usage,
      reportedUsage: this.reported,
    });
  }

  private finishWithoutProcess(reason: AbortReason): void {
    this.resolve(notStarted(reason));
  }

  private pipeLines(stream: NodeJS.ReadableStream | null, level: TaskLogLevel, name: string): void {
    pipeLines(stream, name === 'stderr' ? (chunk) => (this.stderrTail = (this.stderrTail + chunk).slice(-4_000)) : undefined, (line) =>
      this.log(level, line, { stream: name }),
    );
  }

  private log(level: TaskLogLevel, msg: string, fields: JsonObject): void {
    this.spec.onLog?.(level, scrubSecrets(msg, this.secrets), scrubValue(fields, this.secrets));
  }
}
