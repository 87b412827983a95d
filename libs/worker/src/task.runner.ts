// Entry of the isolated child process (compiled to dist/task.runner.js and
// forked once per attempt). It loads one handler module, runs it, and sends
// one `result` message; anything else the parent learns from its exit.
import { handlersOfModule, type JsonObject, type ReportedUsage, type TaskContext, type TaskLogger } from './handler.define';
import type { AttemptOutcome, ChildMessage, ParentMessage, StepErrorShape } from './task.protocol';

const controller = new AbortController();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    // The callback fires once the message is handed to the channel, so exit() cannot cut it off.
    process.send!(message, undefined, {}, () => resolve());
  });
}

function logger(): TaskLogger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: JsonObject) =>
    void send({ type: 'log', level, msg: String(msg), ...(fields !== undefined && { fields: jsonSafe(fields) }) });
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

async function start(message: Extract<ParentMessage, { type: 'start' }>): Promise<AttemptOutcome> {
  let mod: unknown;
  try {
    mod = require(message.modulePath);
  } catch (err) {
    return { status: 'failed', error: { code: 'handler_load_failed', message: String((err as Error)?.message ?? err).slice(0, 4000), retryable: false } };
  }
  const handler = handlersOfModule(mod).find((h) => h.name === message.handler);
  if (!handler) return { status: 'failed', error: { code: 'unknown_handler', message: `${message.modulePath} no longer exports handler "${message.handler}"`, retryable: false } };
  const env: Record<string, string> = {};
  for (const key of message.envKeys) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  const ctx: TaskContext = {
    ...message.identity,
    logger: logger(),
    heartbeat: () => void send({ type: 'heartbeat' }),
    reportUsage: (usage: ReportedUsage) => void send({ type: 'usage', usage: jsonSafe(usage as unknown as JsonObject) as unknown as ReportedUsage }),
    signal: controller.signal,
    env: Object.freeze(env),
  };
  try {
    return outputsOf(await handler.run(message.input, ctx));
  } catch (err) {
    return { status: 'failed', error: errorOf(err) };
  }
}

process.on('message', (raw: ParentMessage) => {
  if (raw.type === 'abort') {
    controller.abort(raw.reason);
    return;
  }
  if (raw.type !== 'start') return;
  void start(raw).then(async (outcome) => {
    const usage = process.resourceUsage();
    await send({ type: 'result', outcome, cpuMicros: usage.userCPUTime + usage.systemCPUTime, maxRssKb: usage.maxRSS });
    // Handlers may leave timers or sockets open; the attempt is over either way.
    process.exit(0);
  });
});

// A rejection the handler never awaited would otherwise end the child with no result.
process.on('unhandledRejection', (err) => {
  void send({ type: 'log', level: 'error', msg: 'unhandled rejection in handler', fields: { err: errorOf(err) } });
});
// The parent went away (pool killed): nobody can use our result.
process.on('disconnect', () => process.exit(0));
