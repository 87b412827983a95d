import { IllegalStateError, NotFoundError, type StepError } from '@steward/contracts';
import { approvalAuthority } from './approval.authority';
import type { RunCommand } from './run.commands';
import { afterFailedAttempt, Decision, dispatch, ensureStarted, settle } from './run-progress.domain';
import { resolveRunInput } from './run-input.validate';
import { evolveRun } from './run.evolve';
import { RUN_TERMINAL_STATES } from './run.state-machine';
import { isActiveRun, type ActiveRunState, type RunEvent, type RunState, type StepState } from './run.state';

// The run decider: a command and the folded history in, new events out (or
// a typed error). Commands driven by timers (RetryDue, StepTimedOut,
// ApprovalTimedOut, TimeOutRun) and repeats of an operator action that
// already took effect decide nothing: a timer that lost a race with a
// result is normal, not an error. Anything else that does not fit the
// state machines throws IllegalStateError naming state, event and what was
// allowed.

function existing(state: RunState, command: RunCommand): ActiveRunState {
  if (!isActiveRun(state)) throw new NotFoundError('run', command.runId);
  if (state.runId !== command.runId) {
    throw new IllegalStateError(`command for run ${command.runId} applied to run ${state.runId}`, { runId: command.runId });
  }
  return state;
}

function stepOf(run: ActiveRunState, stepId: string): StepState {
  const step = run.steps[stepId];
  if (step === undefined) throw new NotFoundError('step', stepId, { runId: run.runId });
  return step;
}

function isTerminal(run: ActiveRunState): boolean {
  return RUN_TERMINAL_STATES.includes(run.status);
}

/** A worker's report about an attempt that is no longer the current one. */
function staleAttempt(run: ActiveRunState, step: StepState, attempt: number): never {
  throw new IllegalStateError(`step ${step.id} of run ${run.runId} is at attempt ${step.attempt}, not ${attempt}`, {
    runId: run.runId,
    stepId: step.id,
    reason: 'stale_attempt',
    attempt,
    current: step.attempt,
  });
}

/** Reports can overtake `StartStep` on the way in; the start is then implied. */
function startIfQueued(d: Decision, stepId: string, attempt: number, now: Date): void {
  if (d.step(stepId).status !== 'queued') return;
  ensureStarted(d, now);
  d.emit({ type: 'step.started', data: { ...d.ids, stepId, attempt, startedAt: now.toISOString() } });
}

export function decideRun(command: RunCommand, state: RunState): RunEvent[] {
  const now = command.now;
  const at = now.toISOString();

  if (command.type === 'RequestRun') {
    // The run id is the idempotency key (one run per schedule occurrence):
    // a second request for it, from a second scheduler replica, is a no-op.
    if (isActiveRun(state)) return [];
    const input = resolveRunInput(command.workflow, command.input);
    const requested: RunEvent = {
      type: 'run.requested',
      data: {
        runId: command.runId,
        workflowId: command.workflow.id,
        version: command.version,
        hash: command.hash,
        trigger: command.trigger,
        ...(command.occurrence && { occurrence: { id: command.occurrence.id, at: command.occurrence.at.toISOString() } }),
        input,
        definition: command.workflow as unknown as Record<string, unknown>,
        requestedAt: at,
      },
    };
    if (!command.admit) return [requested];
    const d = new Decision(evolveRun(state, requested) as ActiveRunState);
    d.events.push(requested);
    d.emit({ type: 'run.queued', data: { ...d.ids, queuedAt: at } });
    settle(d, now);
    return d.events;
  }

  const run = existing(state, command);
  const d = new Decision(run);

  switch (command.type) {
    case 'AdmitRun':
      if (run.status !== 'pending') return [];
      d.emit({ type: 'run.queued', data: { ...d.ids, queuedAt: at } });
      settle(d, now);
      return d.events;

    case 'StartStep': {
      const step = stepOf(run, command.stepId);
      if (command.attempt > step.attempt) staleAttempt(run, step, command.attempt);
      // An older attempt, or one that already started or finished: a late or repeated start.
      if (command.attempt < step.attempt || !['queued', 'pending', 'cancelled'].includes(step.status)) return [];
      if (step.status === 'queued') ensureStarted(d, now);
      d.emit({
        type: 'step.started',
        data: { ...d.ids, stepId: step.id, attempt: command.attempt, ...(command.worker !== undefined && { worker: command.worker }), startedAt: at },
      });
      return d.events;
    }

    case 'StepSucceeded': {
      const step = stepOf(run, command.stepId);
      if (command.attempt !== step.attempt) staleAttempt(run, step, command.attempt);
      if (step.status === 'succeeded') return [];
      startIfQueued(d, step.id, command.attempt, now);
      d.emit({
        type: 'step.succeeded',
        data: {
          ...d.ids,
          stepId: step.id,
          attempt: command.attempt,
          outputs: command.outputs,
          ...(command.usage !== undefined && { usage: command.usage }),
          ...(command.reportedUsage !== undefined && { reportedUsage: command.reportedUsage }),
          succeededAt: at,
        },
      });
      settle(d, now);
      return d.events;
    }

    case 'StepFailed': {
      const step = stepOf(run, command.stepId);
      if (command.attempt !== step.attempt) staleAttempt(run, step, command.attempt);
      if (step.failures.some((f) => f.attempt === command.attempt)) return [];
      startIfQueued(d, step.id, command.attempt, now);
      d.emit({
        type: 'step.failed',
        data: {
          ...d.ids,
          stepId: step.id,
          attempt: command.attempt,
          error: command.error,
          ...(command.usage !== undefined && { usage: command.usage }),
          ...(command.reportedUsage !== undefined && { reportedUsage: command.reportedUsage }),
          failedAt: at,
        },
      });
      afterFailedAttempt(d, step.id, command.error, now, command.random);
      return d.events;
    }

    case 'StepTimedOut': {
      const step = stepOf(run, command.stepId);
      const expected = command.timeout === 'schedule_to_start' ? 'queued' : 'running';
      if (isTerminal(run) || command.attempt !== step.attempt || step.status !== expected) return [];
      if (command.byDefault === true && d.definitionOf(step.id).scheduleToStartMs !== undefined) return [];
      d.emit({ type: 'step.timed_out', data: { ...d.ids, stepId: step.id, attempt: step.attempt, timeout: command.timeout, timedOutAt: at } });
      const error: StepError = d.step(step.id).failures.at(-1)!.error;
      afterFailedAttempt(d, step.id, error, now, command.random);
      return d.events;
    }

    case 'RetryDue': {
      const step = stepOf(run, command.stepId);
      if (isTerminal(run) || step.status !== 'retrying' || command.attempt !== step.attempt + 1) return [];
      dispatch(d, d.definitionOf(step.id), command.attempt, now);
      settle(d, now);
      return d.events;
    }

    case 'ApprovalGranted':
    case 'ApprovalRejected': {
      const step = stepOf(run, command.stepId);
      const def = d.definitionOf(step.id);
      const approvers = def.kind === 'approval' ? def.approval.approvers : [];
      const who = { name: command.approver, ...(command.approverTeams !== undefined && { teams: command.approverTeams }), ...(command.approverRole !== undefined && { role: command.approverRole }) };
      // A step no longer waiting is refused by its state machine below (illegal_state), whoever asks.
      const authority = step.status === 'awaiting_approval' ? approvalAuthority(approvers, who, { runId: run.runId, stepId: step.id }) : undefined;
      const base = { ...d.ids, stepId: step.id, approver: command.approver, ...(authority !== undefined && { authority }), ...(command.comment !== undefined && { comment: command.comment }) };
      if (command.type === 'ApprovalGranted') d.emit({ type: 'approval.granted', data: { ...base, auto: false, grantedAt: at } });
      else d.emit({ type: 'approval.rejected', data: { ...base, rejectedAt: at } });
      settle(d, now);
      return d.events;
    }

    case 'ApprovalTimedOut': {
      const step = stepOf(run, command.stepId);
      if (isTerminal(run) || step.status !== 'awaiting_approval') return [];
      const def = d.definitionOf(step.id);
      const onTimeout = def.kind === 'approval' ? def.approval.onTimeout : 'fail';
      if (onTimeout === 'approve') {
        d.emit({ type: 'approval.granted', data: { ...d.ids, stepId: step.id, approver: 'steward:timeout', auto: true, grantedAt: at } });
      } else if (onTimeout === 'escalate' && !step.escalated && def.kind === 'approval') {
        d.emit({
          type: 'approval.escalated',
          data: { ...d.ids, stepId: step.id, approvers: def.approval.approvers, dueAt: new Date(now.getTime() + def.approval.timeoutMs).toISOString(), escalatedAt: at },
        });
      } else {
        d.emit({ type: 'step.timed_out', data: { ...d.ids, stepId: step.id, attempt: step.attempt, timeout: 'approval', timedOutAt: at } });
      }
      settle(d, now);
      return d.events;
    }

    case 'CancelRun':
      if (run.status === 'cancelled') return [];
      cancelActiveSteps(d, 'run_cancelled', at);
      d.emit({
        type: 'run.cancelled',
        data: {
          ...d.ids,
          ...(command.reason !== undefined && { reason: command.reason }),
          ...(command.actor !== undefined && { actor: command.actor }),
          cancelledAt: at,
        },
      });
      return d.events;

    case 'TimeOutRun':
      if (isTerminal(run)) return [];
      cancelActiveSteps(d, 'run_timed_out', at);
      d.emit({
        type: 'run.timed_out',
        data: { ...d.ids, timeoutMs: run.definition.timeoutMs ?? Math.max(1, now.getTime() - Date.parse(run.requestedAt)), timedOutAt: at },
      });
      return d.events;

    case 'Requeue': {
      const step = stepOf(run, command.stepId);
      // Requeueing twice is harmless: the second finds the step already back in play.
      if (step.status !== 'dead_lettered' && step.requeues > 0) return [];
      if (step.discarded) {
        throw new IllegalStateError(`the dead letter of step ${step.id} of run ${run.runId} was discarded`, { runId: run.runId, stepId: step.id, reason: 'discarded' });
      }
      if (isTerminal(run) && run.status !== 'failed') {
        throw new IllegalStateError(`run ${run.runId} is ${run.status}; only a failed run's dead letters can be requeued`, {
          runId: run.runId,
          stepId: step.id,
          from: run.status,
        });
      }
      d.emit({
        type: 'step.requeued',
        data: {
          ...d.ids,
          stepId: step.id,
          ...(command.actor !== undefined && { actor: command.actor }),
          ...(command.reason !== undefined && { reason: command.reason }),
          requeuedAt: at,
        },
      });
      if (d.state.status === 'failed') d.emit({ type: 'run.reopened', data: { ...d.ids, stepId: step.id, at } });
      dispatch(d, d.definitionOf(step.id), d.step(step.id).attempt + 1, now);
      settle(d, now);
      return d.events;
    }

    case 'DiscardDeadLetter': {
      const step = stepOf(run, command.stepId);
      // Discarding twice is harmless, like requeueing twice.
      if (step.discarded) return [];
      if (step.status !== 'dead_lettered') {
        throw new IllegalStateError(`step ${step.id} of run ${run.runId} is ${step.status}, not dead-lettered`, { runId: run.runId, stepId: step.id, from: step.status });
      }
      d.emit({
        type: 'step.dead_letter_discarded',
        data: { ...d.ids, stepId: step.id, ...(command.actor !== undefined && { actor: command.actor }), reason: command.reason, discardedAt: at },
      });
      return d.events;
    }

    default: {
      const unknown: never = command;
      throw new IllegalStateError(`unknown run command ${(unknown as { type: string }).type}`);
    }
  }
}

function cancelActiveSteps(d: Decision, reason: 'run_cancelled' | 'run_timed_out', at: string): void {
  for (const step of Object.values(d.state.steps)) {
    if (['pending', 'queued', 'running', 'awaiting_approval', 'retrying'].includes(step.status)) {
      d.emit({ type: 'step.cancelled', data: { ...d.ids, stepId: step.id, reason, cancelledAt: at } });
    }
  }
}
