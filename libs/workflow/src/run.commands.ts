import type { ReportedUsage, StepError } from '@steward/contracts';
import type { WorkflowDefinition } from './workflow.schema';

// What the executor asks of a run. Time (`now`) and random draws arrive in
// the command, so deciding is a pure function of history and command.

export interface RunTrigger {
  kind: 'schedule' | 'event' | 'manual';
  actor?: string;
  eventId?: string;
  eventType?: string;
}

export interface RequestRun {
  type: 'RequestRun';
  runId: string;
  workflow: WorkflowDefinition;
  version: number;
  hash: string;
  trigger: RunTrigger;
  occurrence?: { id: string; at: Date };
  input: Record<string, unknown>;
  now: Date;
  /** Admit at once (the executor knows a concurrency slot is free): saves an AdmitRun round trip. */
  admit?: boolean;
}

/** Concurrency and overlap control let a pending run go. */
export interface AdmitRun {
  type: 'AdmitRun';
  runId: string;
  now: Date;
}

export interface StartStep {
  type: 'StartStep';
  runId: string;
  stepId: string;
  attempt: number;
  worker?: string;
  now: Date;
}

export interface ReportStepSucceeded {
  type: 'StepSucceeded';
  runId: string;
  stepId: string;
  attempt: number;
  outputs: Record<string, unknown>;
  usage?: Record<string, number>;
  reportedUsage?: ReportedUsage[];
  now: Date;
}

export interface ReportStepFailed {
  type: 'StepFailed';
  runId: string;
  stepId: string;
  attempt: number;
  error: StepError;
  usage?: Record<string, number>;
  reportedUsage?: ReportedUsage[];
  now: Date;
  /** In [0, 1): the retry jitter draw. */
  random: number;
}

/** A step timer fired: schedule-to-start (queued too long), start-to-close or heartbeat. */
export interface ReportStepTimedOut {
  type: 'StepTimedOut';
  runId: string;
  stepId: string;
  attempt: number;
  timeout: 'schedule_to_start' | 'start_to_close' | 'heartbeat';
  now: Date;
  random: number;
  /**
   * The executor's default schedule-to-start guard found the attempt queued
   * past the default, not the step's own timer: a step with a
   * `scheduleToStart` of its own is left to that timer.
   */
  byDefault?: boolean;
}

/** The retry timer fired; `attempt` is the attempt to dispatch now. */
export interface RetryDue {
  type: 'RetryDue';
  runId: string;
  stepId: string;
  attempt: number;
  now: Date;
}

export interface GrantApproval {
  type: 'ApprovalGranted';
  runId: string;
  stepId: string;
  approver: string;
  /** The caller's teams and role, from the gateway's token; checked against the step's approvers. */
  approverTeams?: readonly string[];
  approverRole?: 'viewer' | 'operator' | 'admin';
  comment?: string;
  now: Date;
}

export interface RejectApproval {
  type: 'ApprovalRejected';
  runId: string;
  stepId: string;
  approver: string;
  /** The caller's teams and role, from the gateway's token; checked against the step's approvers. */
  approverTeams?: readonly string[];
  approverRole?: 'viewer' | 'operator' | 'admin';
  comment?: string;
  now: Date;
}

export interface ApprovalTimedOut {
  type: 'ApprovalTimedOut';
  runId: string;
  stepId: string;
  now: Date;
}

export interface CancelRun {
  type: 'CancelRun';
  runId: string;
  reason?: string;
  actor?: string;
  now: Date;
}

/** The whole-run timer fired. */
export interface TimeOutRun {
  type: 'TimeOutRun';
  runId: string;
  now: Date;
}

/** An operator requeues a dead-lettered step (`steward dlq requeue`). */
export interface RequeueStep {
  type: 'Requeue';
  runId: string;
  stepId: string;
  actor?: string;
  reason?: string;
  now: Date;
}

/** An operator gives up on a dead-lettered step (`steward dlq discard`); the reason is required. */
export interface DiscardDeadLetter {
  type: 'DiscardDeadLetter';
  runId: string;
  stepId: string;
  actor?: string;
  reason: string;
  now: Date;
}

export type RunCommand =
  | RequestRun
  | AdmitRun
  | StartStep
  | ReportStepSucceeded
  | ReportStepFailed
  | ReportStepTimedOut
  | RetryDue
  | GrantApproval
  | RejectApproval
  | ApprovalTimedOut
  | CancelRun
  | TimeOutRun
  | RequeueStep
  | DiscardDeadLetter;
