import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { JsonObject, ReportedUsage } from './handler.define';
import { scrubSecrets, scrubValue } from './environment.profile';
import { sampleProcess } from './resource.sample';
import {
  attemptOutcome,
  inheritedEnv,
  notStarted,
  pipeLines,
  runnerPath,
  type AbortReason,
  type AttemptReport,
  type IsolatedAttempt,
  type StopReason,
  type TaskLogLevel,
} from './task.isolate';
import { isChildMessage, type ChildMessage, type ParentMessage } from './task.protocol';

export interface WarmIsolateOptions {
  /** Attempts one process runs before it is replaced by a fresh one. Default DEFAULT_ISOLATE_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Idle processes kept ready (pre-started or between attempts); the least recently used goes first. Default 4. */
  maxIdle?: number;
  /**
   * A process whose resident memory after an attempt is above this share of
   * its memory limit is replaced (a leak would otherwise reach the limit and
   * fail some later attempt). Default 0.5.
   */
  recycleRssRatio?: number;
  /** Worker variables a process inherits (PATH and the like; never secrets). */
  inheritEnv?: readonly string[];
  /** What a process says between attempts (a previous attempt's leftover timers), secrets scrubbed. */
  onStrayLog?: (level: TaskLogLevel, msg: string, fields: JsonObject) => void;
  /** A process started (`started`) or was ended by the pool, with why (metrics). */
  onProcess?: (event: TaskProcessEvent) => void;
}

/** Why the pool started or ended a task process. */
export type TaskProcessEvent = 'started' | RetireReason;
export type RetireReason = 'max_attempts' | 'attempt_stopped' | 'exited' | 'memory_grew' | 'evicted' | 'closed';

/**
 * A fresh task process costs about 80-100 ms of CPU (Node's start, the runner
 * and the handler module; measured on the 2-core machine) plus a fork of the
 * pool's process. At 100 attempts a process that was most of a quick
 * attempt's cost (about 1 ms each); at 1,000 it is a tenth of that. Leaks are
 * still caught after each attempt by the resident-memory check.
 */
export const DEFAULT_ISOLATE_MAX_ATTEMPTS = 1_000;
const DEFAULT_RECYCLE_RSS_RATIO = 0.5;

const NO_PROFILE = createHash('sha256').update('[]').digest('base64url');

/** Identifies a profile without keeping its values: a process serves one profile for its whole life. */
function profileFingerprint(env: Record<string, string> | undefined): string {
  // Most workflows have no profile: no hash per attempt for them.
  if (env === undefined || Object.keys(env).length === 0) return NO_PROFILE;
  const entries = Object.entries(env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url');
}

/**
 * Warm isolation: task processes that stay up and run one attempt after
 * another of the same handler module and memory limit, like warm serverless
 * containers. Each attempt keeps the per-attempt guarantees (time limit,
 * memory limit, crash and cancellation end only that attempt, per-attempt
 * usage); a process is replaced after `maxAttempts`, after an attempt that
 * was stopped or crashed, and when its memory grew. A process serves a single
 * environment profile (bound by its first attempt), so one workflow's
 * secrets never reach another's attempt; module state does persist between
 * attempts of the same handler and profile.
 */
export class WarmIsolatePool {
  private readonly idle: WarmIsolate[] = [];
  private readonly busy = new Set<WarmIsolate>();
  private readonly maxAttempts: number;
  private readonly maxIdle: number;
  private readonly recycleRssRatio: number;
  private closed = false;

  constructor(private readonly options: WarmIsolateOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? DEFAULT_ISOLATE_MAX_ATTEMPTS;
    this.maxIdle = options.maxIdle ?? 4;
    this.recycleRssRatio = options.recycleRssRatio ?? DEFAULT_RECYCLE_RSS_RATIO;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    if (!Number.isInteger(this.maxIdle) || this.maxIdle < 0) throw new Error(`maxIdle must be a non-negative integer, got ${this.maxIdle}`);
  }

  /** Processes alive now, idle or running an attempt. */
  get size(): number {
    return this.idle.length + this.busy.size;
  }

  /** Pids of the processes alive now (tests and diagnostics). */
  pids(): number[] {
    return [...this.idle, ...this.busy].map((i) => i.pid).filter((p): p is number => p !== undefined);
  }

  /** Starts processes for these modules ahead of the first attempt, round robin, up to `maxIdle` idle in all. */
  prestart(modulePaths: readonly string[], memoryMb: number): void {
    const modules = [...new Set(modulePaths)];
    for (let i = 0; modules.length > 0 && this.idle.length < this.maxIdle && i < this.maxIdle; i++) this.spawnIdle(modules[i % modules.length]!, memoryMb);
  }

  /** Runs one attempt on a warm process of its module, memory limit and profile. Never rejects. */
  async run(spec: IsolatedAttempt): Promise<AttemptReport> {
    if (spec.signal?.aborted) return notStarted(spec.signal.reason as AbortReason);
    if (this.closed) return notStarted('cancelled');
    const profile = profileFingerprint(spec.env);
    const isolate = this.take(spec.modulePath, spec.memoryMb, profile);
    this.busy.add(isolate);
    let report: AttemptReport;
    try {
      report = await isolate.run(spec, profile);
    } finally {
      this.busy.delete(isolate);
    }
    const retire = this.closed ? 'closed' : isolate.retireReason(this.maxAttempts, this.recycleRssRatio);
    if (retire === undefined) {
      this.idle.push(isolate);
      while (this.idle.length > this.maxIdle) this.retire(this.idle.shift()!, 'evicted');
    } else {
      this.retire(isolate, retire);
      // Its replacement starts now, so the next attempt does not pay for the start.
      if (!this.closed && this.idle.length < this.maxIdle) this.spawnIdle(spec.modulePath, spec.memoryMb);
    }
    return report;
  }

  /** Kills every process; attempts still running end as their stop reason or `worker_crashed`. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(all.map((i) => this.retire(i, 'closed')));
  }

  private retire(isolate: WarmIsolate, reason: RetireReason): Promise<void> {
    this.options.onProcess?.(reason);
    return isolate.kill();
  }

  private take(modulePath: string, memoryMb: number, profile: string): WarmIsolate {
    const fits = (i: WarmIsolate) => i.modulePath === modulePath && i.memoryMb === memoryMb;
    let index = this.idle.findIndex((i) => fits(i) && i.profile === profile);
    if (index < 0) index = this.idle.findIndex((i) => fits(i) && i.profile === undefined);
    if (index >= 0) return this.idle.splice(index, 1)[0]!;
    // None fits: make room by ending the least recently used idle process.
    if (this.idle.length >= this.maxIdle && this.idle.length > 0) void this.retire(this.idle.shift()!, 'evicted');
    return this.spawn(modulePath, memoryMb);
  }

  private spawnIdle(modulePath: string, memoryMb: number): void {
    this.idle.push(this.spawn(modulePath, memoryMb));
  }

  private spawn(modulePath: string, memoryMb: number): WarmIsolate {
    this.options.onProcess?.('started');
    return new WarmIsolate(modulePath, memoryMb, this.options, (gone) => {
      const index = this.idle.indexOf(gone);
      if (index >= 0) this.idle.splice(index, 1);
    });
  }
}

/** One warm process: runs one attempt at a time. */
class WarmIsolate {
  readonly child: ChildProcess;
  /** The profile fingerprint of its first attempt; undefined while fresh. */
  profile: string | undefined;
  private secrets: readonly string[] = [];
  private attempts = 0;
  private seq = 0;
  private current: WarmAttempt | undefined;
  private exited: Promise<void>;
  private exitedYet = false;
  private spoiled = false;
  private lastRssKb = 0;
  /** The process's CPU as of its last result (ms): where a next attempt's own share starts. */
  cpuSoFarMs: number | undefined;
  stderrTail = '';

  constructor(
    readonly modulePath: string,
    readonly memoryMb: number,
    private readonly options: WarmIsolateOptions,
    onExit: (isolate: WarmIsolate) => void,
  ) {
    this.child = fork(runnerPath(), ['--warm'], {
      // Explicit, so the parent's own flags (a debugger, jest's) never leak into tasks.
      execArgv: [`--max-old-space-size=${memoryMb}`],
      env: inheritedEnv(options.inheritEnv),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // Own process group: killing it also ends whatever a handler spawned.
      detached: true,
    });
    this.exited = new Promise((resolve) =>
      // 'close', not 'exit': the output streams and IPC are drained by then, so no last line or result is lost.
      this.child.on('close', (code, signal) => {
        this.exitedYet = true;
        this.current?.closed(code, signal);
        onExit(this);
        resolve();
      }),
    );
    this.child.on('message', (m) => this.onMessage(m));
    this.child.on('error', (err) => this.output('error', `task process error: ${err.message}`, 'ipc'));
    pipeLines(this.child.stdout, undefined, (line) => this.output('info', line, 'stdout'));
    pipeLines(this.child.stderr, (chunk) => (this.stderrTail = (this.stderrTail + chunk).slice(-4_000)), (line) => this.output('warn', line, 'stderr'));
    this.send({ type: 'load', modulePath });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(spec: IsolatedAttempt, profile: string): Promise<AttemptReport> {
    this.profile = profile;
    this.secrets = spec.secrets ?? [];
    this.attempts++;
    this.stderrTail = '';
    return new Promise((resolve) => {
      const attempt = new WarmAttempt(this, spec, ++this.seq, (report, rssKb) => {
        this.current = undefined;
        this.lastRssKb = rssKb;
        resolve(report);
      });
      this.current = attempt;
      attempt.start();
    });
  }

  /** Why the next attempt may not run here, or undefined when it may. */
  retireReason(maxAttempts: number, recycleRssRatio: number): RetireReason | undefined {
    if (this.spoiled) return 'attempt_stopped';
    if (this.exitedYet) return 'exited';
    if (this.attempts >= maxAttempts) return 'max_attempts';
    if (this.lastRssKb > this.memoryMb * 1024 * recycleRssRatio) return 'memory_grew';
    return undefined;
  }

  /** After an attempt that was stopped: whatever it left running must not reach the next one. */
  spoil(): void {
    this.spoiled = true;
  }

  get alive(): boolean {
    return !this.exitedYet;
  }

  send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  kill(): Promise<void> {
    if (!this.exitedYet && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        this.child.kill('SIGKILL');
      }
    }
    return this.exited;
  }

  private onMessage(raw: unknown): void {
    if (!isChildMessage(raw)) return;
    const current = this.current;
    if (current && (raw.seq === undefined || raw.seq === current.seq)) return current.onMessage(raw);
    if (raw.type === 'log') this.stray(raw.level, raw.msg, { ...(raw.fields ?? {}), leftover_of_attempt: raw.seq ?? null });
  }

  private output(level: TaskLogLevel, line: string, stream: string): void {
    if (this.current) return this.current.log(level, line, { stream });
    this.stray(level, line, { stream });
  }

  private stray(level: TaskLogLevel, msg: string, fields: JsonObject): void {
    this.options.onStrayLog?.(level, scrubSecrets(msg, this.secrets), scrubValue({ ...fields, between_attempts: true }, this.secrets));
  }
}

/** One attempt on a warm process: the same watchdog, limits and outcomes as a forked attempt. */
class WarmAttempt {
  private readonly started = Date.now();
  private readonly secrets: readonly string[];
  private result: Extract<ChildMessage, { type: 'result' }> | undefined;
  private stopReason: StopReason | undefined;
  private peakRssKb = 0;
  private overLimitKb = 0;
  private cpuBaseMs: number | undefined;
  private lastCpuMs: number | undefined;
  private readonly reported: ReportedUsage[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private settled = false;
  private readonly onAbort = () => this.stop((this.spec.signal!.reason as AbortReason) ?? 'cancelled');

  constructor(
    private readonly isolate: WarmIsolate,
    private readonly spec: IsolatedAttempt,
    readonly seq: number,
    private readonly resolve: (report: AttemptReport, rssKb: number) => void,
  ) {
    this.secrets = spec.secrets ?? [];
  }

  start(): void {
    if (!this.isolate.alive) return this.closed(null, null);
    // The process's CPU so far, so a killed attempt is charged only its own share: as its last
    // result reported it, read from /proc only before a process's first attempt.
    this.cpuBaseMs = this.isolate.cpuSoFarMs ?? (this.isolate.pid !== undefined ? sampleProcess(this.isolate.pid)?.cpuMs : undefined);
    this.timers.push(setInterval(() => this.watch(), this.spec.sampleIntervalMs ?? 50));
    this.timers.push(setTimeout(() => this.stop('timeout'), this.spec.timeoutMs));
    this.spec.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.isolate.send({
      type: 'start',
      modulePath: this.spec.modulePath,
      handler: this.spec.handler,
      input: this.spec.input,
      identity: this.spec.identity,
      envKeys: [],
      env: this.spec.env ?? {},
      seq: this.seq,
    });
  }

  onMessage(raw: ChildMessage): void {
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
        if (raw.totalCpuMicros !== undefined) this.isolate.cpuSoFarMs = raw.totalCpuMicros / 1000;
        // Output lines written before the result may be read in this same poll phase: let them land in this attempt.
        setImmediate(() => this.settle(null, null));
        return;
    }
  }

  /** The process ended while this attempt was its current one. */
  closed(code: number | null, signal: NodeJS.Signals | null): void {
    this.settle(code, signal);
  }

  log(level: TaskLogLevel, msg: string, fields: JsonObject): void {
    this.spec.onLog?.(level, scrubSecrets(msg, this.secrets), scrubValue(fields, this.secrets));
  }

  private watch(): void {
    const pid = this.isolate.pid;
    if (pid === undefined || !this.isolate.alive) return;
    const sample = sampleProcess(pid);
    if (!sample) return;
    // The current resident set, not VmHWM: the kernel's peak covers earlier attempts until the child resets it.
    this.peakRssKb = Math.max(this.peakRssKb, sample.rssKb);
    this.lastCpuMs = sample.cpuMs;
    if (sample.rssKb > this.spec.memoryMb * 1024) {
      this.overLimitKb = sample.rssKb;
      this.stop('resource_exhausted');
    }
  }

  private stop(reason: StopReason): void {
    // A result already in hand wins over a timer that fired as it arrived.
    if (this.settled || this.stopReason !== undefined || this.result !== undefined) return;
    this.stopReason = reason;
    this.isolate.spoil();
    if (reason === 'resource_exhausted') return void this.isolate.kill();
    this.isolate.send({ type: 'abort', reason });
    this.timers.push(setTimeout(() => void this.isolate.kill(), this.spec.killGraceMs ?? 1_000));
  }

  private settle(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.settled) return;
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    this.spec.signal?.removeEventListener('abort', this.onAbort);
    const cpuMs = this.result
      ? Math.round(this.result.cpuMicros / 1000)
      : this.lastCpuMs !== undefined && this.cpuBaseMs !== undefined
        ? Math.max(0, this.lastCpuMs - this.cpuBaseMs)
        : 0;
    const outcome = attemptOutcome({
      stopReason: this.stopReason,
      result: this.result?.outcome,
      code,
      signal,
      stderrTail: this.isolate.stderrTail,
      overLimitKb: this.overLimitKb,
      memoryMb: this.spec.memoryMb,
      timeoutMs: this.spec.timeoutMs,
      secrets: this.secrets,
    });
    // A handler that returned while being stopped may have left work running: the process is not reused.
    if (this.stopReason !== undefined) void this.isolate.kill();
    this.resolve(
      { outcome, usage: { cpuMs, maxRssKb: Math.max(this.peakRssKb, this.result?.maxRssKb ?? 0), wallMs: Date.now() - this.started }, reportedUsage: this.reported },
      this.result?.rssKb ?? 0,
    );
  }
}
