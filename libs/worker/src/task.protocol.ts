import type { JsonObject, ReportedUsage, TaskInput } from './handler.define';

// The IPC messages between the pool and one isolated attempt. JSON only
// (fork's default serialisation), so whatever crosses is also valid in an event.

export interface AttemptIdentity {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
}

export type StepErrorShape = { code: string; message: string; retryable: boolean };

export type AttemptOutcome = { status: 'succeeded'; outputs: JsonObject } | { status: 'failed'; error: StepErrorShape };

export type ParentMessage =
  | { type: 'start'; modulePath: string; handler: string; input: TaskInput; identity: AttemptIdentity; envKeys: string[] }
  | { type: 'abort'; reason: 'cancelled' | 'timeout' };

export type ChildMessage =
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: JsonObject }
  | { type: 'heartbeat' }
  | { type: 'usage'; usage: ReportedUsage }
  /** cpuMicros and maxRssKb from the child's own process.resourceUsage(), taken after the handler settled. */
  | { type: 'result'; outcome: AttemptOutcome; cpuMicros: number; maxRssKb: number };

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
