// Entry of the task child process (compiled to dist/task.runner.js). Forked
// per attempt, it loads one handler module, runs it, sends one `result` and
// exits; anything else the parent learns from its exit. Forked with `--warm`,
// it stays up and runs one attempt after another of the same module (each
// with its own ctx, AbortSignal and usage), until the pool kills it.
import { readFileSync, writeFileSync } from 'node:fs';
import { handlersOfModule, type JsonObject, type ReportedUsage, type TaskContext, type TaskLogger } from './handler.define';
import type { AttemptOutcome, ChildMessage, ParentMessage, StepErrorShape } from './task.protocol';

const WARM = process.argv.includes('--warm');

/** The attempt running now (a warm child runs one at a time). */
let current: { seq: number | undefined; controller: AbortController } | undefined;
/** Profile variables the previous attempt set in process.env (warm), removed when the next one's profile lacks them. */
let profileKeys: string[] = [];

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    // The callback fires once the message is handed to the channel, so exit() cannot cut it off.
    process.send!(message, undefined, {}, () => resolve());
  });
}

function logger(seq: number | undefined): TaskLogger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: JsonObject) =>
    void send({ type: 'log', level, msg: String(msg), ...(fields !== undefined && { fields: jsonSafe(fields) }), ...(seq !== undefined && { seq }) });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function jsonSafe(value: JsonObject): JsonObject {
  try {
    return JSON.parse(JSON.stringify(value)) as JsonObject;
  } catch {
    return { unserialisable: true };
  }
}

function errorOf(err: unknown): StepErrorShape {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; retryable?: unknown };
    return {
      code: typeof e.code === 'string' && e.code.length > 0 ? e.code.slice(0, 100) : 'handler_error',
      message: String(typeof e.message === 'string' ? e.message : JSON.stringify(err)).slice(0, 4000),
      retryable: typeof e.retryable === 'boolean' ? e.retryable : true,
    };
  }
  // `throw 'boom'` or `throw 42`: still a failure the retry policy can handle.
  return { code: 'handler_error', message: String(err).slice(0, 4000), retryable: true };
}

function outputsOf(value: unknown): AttemptOutcome {
  if (value === undefined || value === null) return { status: 'succeeded', outputs: {} };
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (err) {
    return { status: 'failed', error: { code: 'invalid_output', message: `outputs are not JSON: ${String(err)}`, retryable: false } };
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) return { status: 'succeeded', outputs: { value: copy } };
  return { status: 'succeeded', outputs: copy as JsonObject };
}

/** Resets the kernel's peak-RSS mark (VmHWM) so it measures this attempt alone; false where /proc does not allow it. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssKb(): number | undefined {
  try {
    return Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) || undefined;
  } catch {
    return undefined;
  }
}

/** A warm child's profile lives in process.env only while it is the one in use. */
function applyProfile(env: Record<string, string>): void {
  for (const key of profileKeys) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  profileKeys = Object.keys(env);
}

async function run(message: Extract<ParentMessage, { type: 'start' }>, signal: AbortSignal): Promise<AttemptOutcome> {
  let mod: unknown;
  try {
    mod = require(message.modulePath);
  } catch (err) {
    return { status: 'failed', error: { code: 'handler_load_failed', message: String((err as Error)?.message ?? err).slice(0, 4000), retryable: false } };
  }
  const handler = handlersOfModule(mod).find((h) => h.name === message.handler);
  if (!handler) return { status: 'failed', error: { code: 'unknown_handler', message: `${message.modulePath} no longer exports handler "${message.handler}"`, retryable: false } };
  let env: Record<string, string>;
  if (message.env !== undefined) {
    env = { ...message.env };
    applyProfile(env);
  } else {
    env = {};
    for (const key of message.envKeys) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  }
  const seq = message.seq;
  const tag = seq !== undefined ? { seq } : {};
  const ctx: TaskContext = {
    ...message.identity,
    logger: logger(seq),
    heartbeat: () => void send({ type: 'heartbeat', ...tag }),
    reportUsage: (usage: ReportedUsage) => void send({ type: 'usage', usage: jsonSafe(usage as unknown as JsonObject) as unknown as ReportedUsage, ...tag }),
    signal,
    env: Object.freeze(env),
  };
  try {
    return outputsOf(await handler.run(message.input, ctx));
  } catch (err) {
    return { status: 'failed', error: errorOf(err) };
  }
}

async function attempt(message: Extract<ParentMessage, { type: 'start' }>): Promise<void> {
  const controller = new AbortController();
  current = { seq: message.seq, controller };
  if (!WARM) {
    const outcome = await run(message, controller.signal);
    const usage = process.resourceUsage();
    await send({ type: 'result', outcome, cpuMicros: usage.userCPUTime + usage.systemCPUTime, maxRssKb: usage.maxRSS });
    // Handlers may leave timers or sockets open; the attempt is over either way.
    process.exit(0);
  }
  const peakReset = resetPeakRss();
  const cpuBefore = process.cpuUsage();
  const outcome = await run(message, controller.signal);
  const total = process.cpuUsage();
  const cpu = process.cpuUsage(cpuBefore);
  const rssKb = Math.round(process.memoryUsage.rss() / 1024);
  const maxRssKb = Math.max(rssKb, (peakReset && peakRssKb()) || 0);
  if (current?.controller === controller) current = undefined;
  // totalCpuMicros: the process's CPU so far, where the parent starts counting a next attempt that may have to be stopped.
  await send({ type: 'result', outcome, cpuMicros: cpu.user + cpu.system, maxRssKb, rssKb, totalCpuMicros: total.user + total.system, ...(message.seq !== undefined && { seq: message.seq }) });
}

process.on('message', (raw: ParentMessage) => {
  switch (raw.type) {
    case 'abort':
      current?.controller.abort(raw.reason);
      return;
    case 'load':
      // Warm-up only: a module that fails to load fails the first attempt with its error.
      try {
        require(raw.modulePath);
      } catch {
        /* reported by the attempt */
      }
      return;
    case 'start':
      void attempt(raw);
      return;
  }
});

// A rejection the handler never awaited would otherwise end the child with no result.
process.on('unhandledRejection', (err) => {
  void send({ type: 'log', level: 'error', msg: 'unhandled rejection in handler', fields: { err: errorOf(err) }, ...(current?.seq !== undefined && { seq: current.seq }) });
});
// The parent went away (pool killed): nobody can use our result.
process.on('disconnect', () => process.exit(0));
