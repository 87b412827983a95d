import type {
  ApprovalEscalated,
  ApprovalGranted,
  ApprovalRejected,
  ApprovalRequested,
  EventData,
  EventDefinition,
  RunAwaitingApproval,
  RunCancelled,
  RunFailed,
  RunQueued,
  RunReopened,
  RunRequested,
  RunResumed,
  RunStarted,
  RunSucceeded,
  RunTimedOut,
  StepCancelled,
  StepDeadLettered,
  StepDeadLetterDiscarded,
  StepError,
  StepFailed,
  StepQueued,
  StepRequeued,
  StepRetryScheduled,
  StepSkipped,
  StepStarted,
  StepSucceeded,
  StepTimedOut,
} from '@steward/contracts';
import type { RunStatus } from './run.state-machine';
import type { StepStatus } from './step.state-machine';
import type { WorkflowDefinition } from './workflow.schema';

// The run aggregate's events and the state evolve folds them into.

type Of<D extends EventDefinition> = { type: D['type']; data: EventData<D> };

export type RunEvent =
  | Of<typeof RunRequested>
  | Of<typeof RunQueued>
  | Of<typeof RunStarted>
  | Of<typeof RunAwaitingApproval>
  | Of<typeof RunResumed>
  | Of<typeof RunSucceeded>
  | Of<typeof RunFailed>
  | Of<typeof RunCancelled>
  | Of<typeof RunTimedOut>
  | Of<typeof RunReopened>
  | Of<typeof StepQueued>
  | Of<typeof StepStarted>
  | Of<typeof StepSucceeded>
  | Of<typeof StepFailed>
  | Of<typeof StepTimedOut>
  | Of<typeof StepRetryScheduled>
  | Of<typeof StepDeadLettered>
  | Of<typeof StepSkipped>
  | Of<typeof StepCancelled>
  | Of<typeof StepRequeued>
  | Of<typeof StepDeadLetterDiscarded>
  | Of<typeof ApprovalRequested>
  | Of<typeof ApprovalGranted>
  | Of<typeof ApprovalRejected>
  | Of<typeof ApprovalEscalated>;

export type RunEventType = RunEvent['type'];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

export interface StepFailure {
  attempt: number;
  error: StepError;
  failedAt: string;
}

export interface StepState {
  id: string;
  status: StepStatus;
  /** The latest attempt number dispatched; 0 before the first. Never reused, also across requeues. */
  attempt: number;
  /** First attempt of the current retry budget: 1, or the attempt that followed a requeue. */
  budgetFrom: number;
  outputs?: Record<string, unknown>;
  /** Every failed attempt, for the dead-letter provenance. */
  failures: StepFailure[];
  requeues: number;
  /** An approval that timed out once with onTimeout: escalate. */
  escalated: boolean;
  /** An operator discarded its dead letter: it stays dead-lettered and cannot be requeued. */
  discarded: boolean;
}

export interface ActiveRunState {
  status: RunStatus;
  runId: string;
  workflowId: string;
  version: number;
  hash: string;
  /** The snapshot the run was requested with: a new workflow version never changes a running run. */
  definition: WorkflowDefinition;
  input: Record<string, unknown>;
  requestedAt: string;
  startedAt?: string;
  /** In definition order. */
  steps: Record<string, StepState>;
}

export type RunState = { status: 'none' } | ActiveRunState;

export function initialRunState(): RunState {
  return { status: 'none' };
}

export function isActiveRun(state: RunState): state is ActiveRunState {
  return state.status !== 'none';
}
