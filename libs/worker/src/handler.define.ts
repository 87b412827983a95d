// The task SDK as a handler author sees it. This file is loaded inside the
// isolated child as well, so it imports nothing but types: a handler module
// must be cheap to load in a fresh process for every attempt.

export type JsonObject = Record<string, unknown>;

/** What a handler reports for cost tracking (the cost tracker prices it). */
export interface ReportedUsage {
  provider: string;
  endpoint?: string;
  model?: string;
  units: number;
  unit: string;
  costUsd?: number;
}

/** Lines go to the worker's JSON log with run, step and attempt attached; secrets are scrubbed. */
export interface TaskLogger {
  debug(msg: string, fields?: JsonObject): void;
  info(msg: string, fields?: JsonObject): void;
  warn(msg: string, fields?: JsonObject): void;
  error(msg: string, fields?: JsonObject): void;
}

export interface TaskContext {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
  logger: TaskLogger;
  /** Tells the executor the attempt is alive; long tasks with a `heartbeat` timeout must call it. */
  heartbeat(): void;
  reportUsage(usage: ReportedUsage): void;
  /** Aborted on cancellation and timeout; the process is killed shortly after. */
  signal: AbortSignal;
  /** The workflow's environment profile: plain variables and resolved secret references. */
  env: Readonly<Record<string, string>>;
}

/** What the executor hands a task step: the run's inputs and the outputs of the steps it needs. */
export interface TaskInput {
  inputs: JsonObject;
  outputs: JsonObject;
}

export interface TaskHandler<I extends TaskInput = TaskInput, O extends JsonObject | void = JsonObject | void> {
  name: string;
  run(input: I, ctx: TaskContext): O | Promise<O>;
}

export function defineHandler<I extends TaskInput = TaskInput, O extends JsonObject | void = JsonObject | void>(
  handler: TaskHandler<I, O>,
): TaskHandler<I, O> {
  if (!isTaskHandler(handler)) throw new TypeError('defineHandler expects { name: string, run(input, ctx) }');
  return handler;
}

/**
 * A failure with a code the retry policy understands. Plain-JS handlers need
 * not import this: any thrown object with a string `code` and a boolean
 * `retryable` is read the same way.
 */
export class TaskError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TaskError';
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

const HANDLER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$/;

export function isTaskHandler(value: unknown): value is TaskHandler {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const h = value as { name?: unknown; run?: unknown };
  return typeof h.name === 'string' && HANDLER_NAME.test(h.name) && typeof h.run === 'function';
}

/**
 * Every handler a module exports: `module.exports = {name, run}`, a default
 * export, or named exports. Used by the loader and by the child, so both
 * agree on what a module offers.
 */
export function handlersOfModule(exported: unknown): TaskHandler[] {
  const found = new Set<TaskHandler>();
  const consider = (v: unknown) => {
    if (isTaskHandler(v)) found.add(v);
  };
  consider(exported);
  if (exported !== null && typeof exported === 'object') {
    for (const v of Object.values(exported)) consider(v);
    const def = (exported as { default?: unknown }).default;
    if (def !== null && typeof def === 'object') for (const v of Object.values(def)) consider(v);
  }
  return [...found];
}
