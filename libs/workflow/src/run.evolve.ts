import { IllegalStateError } from '@steward/contracts';
import { transitionRun } from './run.state-machine';
import { isActiveRun, type ActiveRunState, type RunEvent, type RunState, type StepState } from './run.state';
import { transitionStep } from './step.state-machine';
import type { WorkflowDefinition } from './workflow.schema';

// Folds run events into state. Every status change goes through the run or
// step transition table, so a stream that holds an illegal sequence fails
// loudly here instead of producing a plausible-looking state.

function active(state: RunState, type: string): ActiveRunState {
  if (!isActiveRun(state)) throw new IllegalStateError(`run: ${type} before run.requested`, { event: type });
  return state;
}

function withRun(state: RunState, event: RunEvent, patch: Partial<ActiveRunState> = {}): ActiveRunState {
  const run = active(state, event.type);
  return { ...run, ...patch, status: transitionRun(run.status, event.type, { runId: run.runId }) };
}

function withStep(state: RunState, event: RunEvent & { data: { stepId: string } }, patch: (step: StepState) => Partial<StepState> = () => ({})): ActiveRunState {
  const run = active(state, event.type);
  const step = run.steps[event.data.stepId];
  if (step === undefined) throw new IllegalStateError(`run ${run.runId} has no step ${event.data.stepId}`, { runId: run.runId, stepId: event.data.stepId });
  const status = transitionStep(step.status, event.type, { runId: run.runId, stepId: step.id });
  return { ...run, steps: { ...run.steps, [step.id]: { ...step, ...patch(step), status } } };
}

export function evolveRun(state: RunState, event: RunEvent): RunState {
  switch (event.type) {
    case 'run.requested': {
      if (isActiveRun(state)) throw new IllegalStateError(`run ${state.runId} was already requested`, { runId: state.runId });
      const d = event.data;
      const definition = d.definition as unknown as WorkflowDefinition;
      const steps: Record<string, StepState> = {};
      for (const s of definition.steps) {
        steps[s.id] = { id: s.id, status: 'pending', attempt: 0, budgetFrom: 1, failures: [], requeues: 0, escalated: false, discarded: false };
      }
      return {
        status: 'pending',
        runId: d.runId,
        workflowId: d.workflowId,
        version: d.version,
        hash: d.hash,
        definition,
        input: d.input,
        requestedAt: d.requestedAt,
        steps,
      };
    }
    case 'run.started':
      return withRun(state, event, { startedAt: event.data.startedAt });
    case 'run.queued':
    case 'run.awaiting_approval':
    case 'run.resumed':
    case 'run.succeeded':
    case 'run.failed':
    case 'run.cancelled':
    case 'run.timed_out':
    case 'run.reopened':
      return withRun(state, event);
    case 'step.queued':
      return withStep(state, event, () => ({ attempt: event.data.attempt }));
    case 'step.succeeded':
      return withStep(state, event, () => ({ outputs: event.data.outputs }));
    case 'step.failed':
      return withStep(state, event, (s) => ({
        attempt: Math.max(s.attempt, event.data.attempt),
        failures: [...s.failures, { attempt: event.data.attempt, error: event.data.error, failedAt: event.data.failedAt }],
      }));
    case 'step.timed_out':
      return withStep(state, event, (s) => ({
        failures: [
          ...s.failures,
          {
            attempt: event.data.attempt,
            error: { code: 'timeout', message: `${event.data.timeout.replace(/_/g, '-')} timeout`, retryable: event.data.timeout !== 'approval' },
            failedAt: event.data.timedOutAt,
          },
        ],
      }));
    case 'step.requeued':
      return withStep(state, event, (s) => ({ budgetFrom: s.attempt + 1, requeues: s.requeues + 1 }));
    case 'approval.granted':
      return withStep(state, event, () => ({
        outputs: {
          approved: true,
          approver: event.data.approver,
          auto: event.data.auto,
          ...(event.data.comment !== undefined && { comment: event.data.comment }),
        },
      }));
    case 'approval.rejected':
      return withStep(state, event, (s) => ({
        failures: [
          ...s.failures,
          {
            attempt: s.attempt,
            error: { code: 'approval_rejected', message: event.data.comment ?? `rejected by ${event.data.approver}`, retryable: false },
            failedAt: event.data.rejectedAt,
          },
        ],
      }));
    case 'step.dead_letter_discarded':
      return withStep(state, event, () => ({ discarded: true }));
    case 'approval.escalated':
      return withStep(state, event, () => ({ escalated: true }));
    case 'step.started':
    case 'step.retry_scheduled':
    case 'step.dead_lettered':
    case 'step.skipped':
    case 'step.cancelled':
    case 'approval.requested':
      return withStep(state, event);
    default: {
      const unknown: never = event;
      throw new IllegalStateError(`run: unknown event ${(unknown as { type: string }).type}`);
    }
  }
}
