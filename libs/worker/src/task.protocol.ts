import type { JsonObject, ReportedUsage, TaskInput } from './handler.define';

// The IPC messages between the pool and its task processes. JSON only
// (fork's default serialisation), so whatever crosses is also valid in an event.
//
// A child forked per attempt (isolation `attempt`) gets one `start`, answers
// with one `result` and exits. A warm child (`--warm`, isolation `warm`) gets
// an optional `load` (require the module ahead of the first attempt), then
// one `start` at a time, each answered by one `result`, until the pool kills it.

export interface AttemptIdentity {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
}

export type StepErrorShape = { code: string; message: string; retryable: boolean };

export type AttemptOutcome = { status: 'succeeded'; outputs: JsonObject } | { status: 'failed'; error: StepErrorShape };

export type ParentMessage =
  | {
      type: 'start';
      modulePath: string;
      handler: string;
      input: TaskInput;
      identity: AttemptIdentity;
      /** Names of profile variables already in the child's environment (forked per attempt). */
      envKeys: string[];
      /** A warm child's profile, sent per attempt instead of through its environment. */
      env?: Record<string, string>;
      /** A warm child's attempt number; its messages carry it back, so a previous attempt's leftovers are told apart. */
      seq?: number;
    }
  | { type: 'load'; modulePath: string }
  | { type: 'abort'; reason: 'cancelled' | 'timeout' };

export type ChildMessage = (
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: JsonObject }
  | { type: 'heartbeat' }
  | { type: 'usage'; usage: ReportedUsage }
  /**
   * cpuMicros: the attempt's user+system CPU (a warm child's delta since its
   * `start`); maxRssKb: the attempt's peak resident set (a warm child resets
   * the kernel's peak at `start`); rssKb: resident now, after the handler settled.
   */
  | { type: 'result'; outcome: AttemptOutcome; cpuMicros: number; maxRssKb: number; rssKb?: number; totalCpuMicros?: number }
) & { seq?: number };

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
