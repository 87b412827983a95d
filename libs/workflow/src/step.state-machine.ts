import { defineStateMachine, transition, type StateMachine } from './transition.table';

export const STEP_STATES = [
  'pending',
  'skipped',
  'queued',
  'running',
  'awaiting_approval',
  'retrying',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'dead_lettered',
] as const;
export type StepStatus = (typeof STEP_STATES)[number];

/**
 * Finished as far as the run is concerned. `failed` and `timed_out` still
 * have exits because the decider settles a failed attempt in the same
 * decision (retry_scheduled or dead_lettered); when neither follows (a
 * rejected approval, an approval timeout, a `when` error) they are final.
 * `dead_lettered` is left only by an operator's requeue.
 */
export const STEP_TERMINAL_STATES: readonly StepStatus[] = ['skipped', 'succeeded', 'failed', 'timed_out', 'cancelled', 'dead_lettered'];

/** Steps that hold the run open: something is, or will be, working on them. */
export const STEP_ACTIVE_STATES: readonly StepStatus[] = ['queued', 'running', 'awaiting_approval', 'retrying'];

export type StepMachineEvent =
  | 'step.queued'
  | 'step.skipped'
  | 'step.started'
  | 'step.succeeded'
  | 'step.failed'
  | 'step.timed_out'
  | 'step.retry_scheduled'
  | 'step.dead_lettered'
  | 'step.cancelled'
  | 'step.requeued'
  | 'step.dead_letter_discarded'
  | 'approval.requested'
  | 'approval.granted'
  | 'approval.rejected'
  | 'approval.escalated';

const cancel = (from: StepStatus) => ({ from, event: 'step.cancelled', to: 'cancelled', note: 'its run was cancelled or timed out' }) as const;

export const stepStateMachine: StateMachine<StepStatus, StepMachineEvent> = defineStateMachine<StepStatus, StepMachineEvent>({
  name: 'step',
  states: STEP_STATES,
  initial: { state: 'pending', event: 'run.requested' },
  terminal: STEP_TERMINAL_STATES,
  transitions: [
    { from: 'pending', event: 'step.queued', to: 'queued', note: 'all needs succeeded or were skipped and `when` holds' },
    { from: 'pending', event: 'step.skipped', to: 'skipped', note: '`when` was false or null' },
    { from: 'pending', event: 'step.failed', to: 'failed', note: '`when` could not be evaluated (a type error); final' },
    cancel('pending'),
    { from: 'queued', event: 'step.started', to: 'running', note: 'a worker picked the attempt up' },
    { from: 'queued', event: 'approval.requested', to: 'awaiting_approval', note: 'approval steps go to the operators instead of a worker' },
    { from: 'queued', event: 'step.timed_out', to: 'timed_out', note: 'schedule-to-start timeout: no worker took it in time' },
    cancel('queued'),
    { from: 'running', event: 'step.succeeded', to: 'succeeded', note: 'the attempt returned its outputs' },
    { from: 'running', event: 'step.failed', to: 'failed', note: 'the attempt failed with an error' },
    { from: 'running', event: 'step.timed_out', to: 'timed_out', note: 'start-to-close or heartbeat timeout' },
    cancel('running'),
    { from: 'awaiting_approval', event: 'approval.granted', to: 'succeeded', note: 'approved by a person, or automatically at timeout (onTimeout: approve)' },
    { from: 'awaiting_approval', event: 'approval.rejected', to: 'failed', note: 'rejected; final' },
    { from: 'awaiting_approval', event: 'approval.escalated', to: 'awaiting_approval', note: 'timed out with onTimeout: escalate; waits one more timeout' },
    { from: 'awaiting_approval', event: 'step.timed_out', to: 'timed_out', note: 'timed out with onTimeout: fail (or after escalating); final' },
    cancel('awaiting_approval'),
    { from: 'failed', event: 'step.retry_scheduled', to: 'retrying', note: 'the retry policy allows another attempt' },
    { from: 'failed', event: 'step.dead_lettered', to: 'dead_lettered', note: 'retry budget spent or the error is non-retryable' },
    { from: 'timed_out', event: 'step.retry_scheduled', to: 'retrying', note: 'the retry policy allows another attempt' },
    { from: 'timed_out', event: 'step.dead_lettered', to: 'dead_lettered', note: 'retry budget spent' },
    { from: 'retrying', event: 'step.queued', to: 'queued', note: 'the retry delay elapsed; the next attempt is dispatched' },
    cancel('retrying'),
    { from: 'dead_lettered', event: 'step.requeued', to: 'pending', note: 'an operator requeued it with a fresh retry budget; step.queued follows' },
    { from: 'dead_lettered', event: 'step.dead_letter_discarded', to: 'dead_lettered', note: 'an operator discarded the dead letter; it can no longer be requeued' },
  ],
});

export function transitionStep(from: StepStatus, event: string, context: Record<string, unknown> = {}): StepStatus {
  return transition(stepStateMachine, from, event, context);
}
