import { defineStateMachine, transition, type StateMachine } from './transition.table';

export const RUN_STATES = [
  'pending',
  'queued',
  'running',
  'awaiting_approval',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATES)[number];

export const RUN_TERMINAL_STATES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled'];

export type RunMachineEvent =
  | 'run.queued'
  | 'run.started'
  | 'run.awaiting_approval'
  | 'run.resumed'
  | 'run.succeeded'
  | 'run.failed'
  | 'run.cancelled'
  | 'run.timed_out'
  | 'run.reopened';

const stop = (from: RunStatus) =>
  [
    { from, event: 'run.cancelled', to: 'cancelled', note: 'an operator or an overlap policy cancelled the run' },
    { from, event: 'run.timed_out', to: 'timed_out', note: 'the whole-run timeout elapsed' },
  ] as const;

/**
 * The run lifecycle. Only run-level events move it; step events move the
 * step machine, and the run decider turns step outcomes into these events.
 */
export const runStateMachine: StateMachine<RunStatus, RunMachineEvent> = defineStateMachine<RunStatus, RunMachineEvent>({
  name: 'run',
  states: RUN_STATES,
  initial: { state: 'pending', event: 'run.requested' },
  terminal: RUN_TERMINAL_STATES,
  transitions: [
    { from: 'pending', event: 'run.queued', to: 'queued', note: 'admitted by concurrency and overlap control; first steps queued' },
    ...stop('pending'),
    { from: 'queued', event: 'run.started', to: 'running', note: 'the first step started or the first approval was requested' },
    { from: 'queued', event: 'run.succeeded', to: 'succeeded', note: 'every step was skipped' },
    { from: 'queued', event: 'run.failed', to: 'failed', note: 'a step failed before any started (a `when` error, a dead-lettered start timeout)' },
    ...stop('queued'),
    { from: 'running', event: 'run.awaiting_approval', to: 'awaiting_approval', note: 'a step now waits for a human' },
    { from: 'running', event: 'run.succeeded', to: 'succeeded', note: 'every step succeeded or was skipped' },
    { from: 'running', event: 'run.failed', to: 'failed', note: 'a step failed for good and nothing else is active' },
    ...stop('running'),
    { from: 'awaiting_approval', event: 'run.resumed', to: 'running', note: 'the last pending approval was decided and other steps go on' },
    { from: 'awaiting_approval', event: 'run.succeeded', to: 'succeeded', note: 'the approval was the last step and it was granted' },
    { from: 'awaiting_approval', event: 'run.failed', to: 'failed', note: 'the approval was rejected or timed out and nothing else is active' },
    ...stop('awaiting_approval'),
    { from: 'failed', event: 'run.reopened', to: 'running', note: 'an operator requeued a dead-lettered step' },
  ],
});

export function transitionRun(from: RunStatus, event: string, context: Record<string, unknown> = {}): RunStatus {
  return transition(runStateMachine, from, event, context);
}
