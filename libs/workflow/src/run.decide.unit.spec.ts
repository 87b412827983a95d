import { IllegalStateError, NotFoundError, ValidationError } from '@steward/contracts';
import { cmd, extend, given, history, iso, PRICES, T0, types, variant } from './run.fixture.spec';
import type { Decider } from '@steward/event-store';
import { runDecider, runStreamId, type RunCommand, type RunState } from './index';

// Compile-time: the decider plugs into the shared command handler as it is.
const asDecider: Decider<RunState, RunCommand> = runDecider;

const admitted = () => history(cmd.request(), cmd.admit());
const fetched = () => history(cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.succeed('fetch', { rawId: 'raw-1' }));
const normalizing = () => extend(fetched(), cmd.start('normalize', 1, 4));
const awaiting = () => extend(normalizing(), cmd.succeed('normalize', { maxChangePct: 50 }, 1, 5));

describe('run decider: requesting and admitting', () => {
  it('records the request with the definition snapshot, version, trigger and occurrence', () => {
    given([]).when(cmd.request()).then([
      {
        type: 'run.requested',
        data: {
          runId: 'r1',
          workflowId: 'prices',
          version: 3,
          hash: 'h3',
          trigger: { kind: 'schedule' },
          occurrence: { id: 'prices@2026-03-02T10:00:00.000Z', at: T0.toISOString() },
          definition: PRICES as unknown as Record<string, unknown>,
          requestedAt: T0.toISOString(),
        },
      },
    ]);
  });

  it('admits at once when asked and queues the root step to the collector', () => {
    given([])
      .when(cmd.request({ admit: true }))
      .then([
        { type: 'run.requested' },
        { type: 'run.queued' },
        {
          type: 'step.queued',
          data: {
            stepId: 'fetch',
            attempt: 1,
            version: 3,
            kind: 'collect',
            target: { service: 'collector' },
            spec: { source: { kind: 'http', url: 'https://portal.example/prices.csv' }, rateLimit: { count: 10, perMs: 60_000 } },
            input: { inputs: {}, outputs: {} },
            timeouts: { startToCloseMs: 600_000 },
          },
        },
      ]);
  });

  it('treats a second request for the same run id as a no-op (one run per occurrence)', () => {
    given(history(cmd.request())).when(cmd.request({ hash: 'other' })).thenNothing();
  });

  it('refuses input that does not match the declared inputs, naming the field', () => {
    const wf = variant(`inputs:\n  region: { type: string, enum: [eu, us] }\n  limit: { type: integer, default: 10 }\nsteps:\n  - id: a\n    task: { handler: h }\n`);
    const err = given([]).when(cmd.request({ workflow: wf, input: { region: 'mars', extra: 1 } })).thenThrows(ValidationError) as ValidationError;
    expect(err.issues).toEqual([
      { path: 'input.extra', message: 'unknown input (expected one of region, limit)' },
      { path: 'input.region', message: 'expected one of eu, us, got "mars"' },
    ]);
    const ok = given([]).when(cmd.request({ workflow: wf, input: { region: 'eu' } })).then([{ type: 'run.requested' }]);
    expect(ok[0]!.data).toMatchObject({ input: { region: 'eu', limit: 10 } });
  });

  it('admits a pending run: run.queued and the root steps', () => {
    given(history(cmd.request())).when(cmd.admit()).then([{ type: 'run.queued', data: { queuedAt: iso(1) } }, { type: 'step.queued', data: { stepId: 'fetch' } }]);
  });

  it('ignores a second admission', () => {
    given(admitted()).when(cmd.admit(2)).thenNothing();
  });

  it('succeeds at admission when every step is skipped', () => {
    const wf = variant(`steps:\n  - id: a\n    when: "inputs.go == true"\n    task: { handler: h }\n  - id: b\n    needs: [a]\n    when: "false"\n    task: { handler: h }\n`);
    given(history(cmd.request({ workflow: wf })))
      .when(cmd.admit())
      .then([{ type: 'run.queued' }, { type: 'step.skipped', data: { stepId: 'a', when: 'inputs.go == true' } }, { type: 'step.skipped', data: { stepId: 'b' } }, { type: 'run.succeeded', data: { durationMs: 1000 } }]);
  });

  it('fails at admission when a root condition is a type error', () => {
    const wf = variant(`steps:\n  - id: a\n    when: "inputs.n > 3"\n    task: { handler: h }\n`);
    given(history(cmd.request({ workflow: wf, input: { n: 'many' } })))
      .when(cmd.admit())
      .then([
        { type: 'run.queued' },
        { type: 'step.failed', data: { stepId: 'a', error: { code: 'when_error', retryable: false } } },
        { type: 'run.failed', data: { failedSteps: [{ stepId: 'a', status: 'failed' }] } },
      ]);
  });

  it('refuses commands for a run that was never requested', () => {
    given([]).when(cmd.admit()).thenThrows(NotFoundError, /run r1 not found/);
    given([]).when(cmd.start('fetch')).thenThrows(NotFoundError);
  });

  it('refuses a step id the workflow does not have', () => {
    given(admitted()).when(cmd.start('nope')).thenThrows(NotFoundError, /step nope/);
  });
});

describe('run decider: steps start and succeed', () => {
  it('starts the run with its first step', () => {
    given(admitted()).when(cmd.start('fetch')).then([{ type: 'run.started', data: { startedAt: iso(2) } }, { type: 'step.started', data: { stepId: 'fetch', attempt: 1, worker: 'w1' } }]);
  });

  it('ignores a repeated or late start', () => {
    const started = history(cmd.request(), cmd.admit(), cmd.start('fetch'));
    given(started).when(cmd.start('fetch')).thenNothing();
    given(fetched()).when(cmd.start('fetch')).thenNothing();
  });

  it('refuses a start for an attempt that was never dispatched', () => {
    const err = given(admitted()).when(cmd.start('fetch', 2)).thenThrows(IllegalStateError, /at attempt 1, not 2/) as IllegalStateError;
    expect(err.context).toMatchObject({ reason: 'stale_attempt' });
  });

  it('queues the next step with the outputs of the steps it needs', () => {
    given(history(cmd.request(), cmd.admit(), cmd.start('fetch')))
      .when(cmd.succeed('fetch', { rawId: 'raw-1' }))
      .then([
        { type: 'step.succeeded', data: { stepId: 'fetch', outputs: { rawId: 'raw-1' } } },
        { type: 'step.queued', data: { stepId: 'normalize', kind: 'transform', target: { service: 'transformer' }, spec: { name: 'prices', version: 2 }, input: { outputs: { fetch: { rawId: 'raw-1' } } } } },
      ]);
  });

  it('accepts a result that overtook its start, implying the start', () => {
    given(admitted())
      .when(cmd.succeed('fetch', { rawId: 'raw-1' }))
      .then([{ type: 'run.started' }, { type: 'step.started' }, { type: 'step.succeeded' }, { type: 'step.queued', data: { stepId: 'normalize' } }]);
  });

  it('ignores a repeated success and refuses one from a superseded attempt', () => {
    given(fetched()).when(cmd.succeed('fetch', { rawId: 'raw-1' })).thenNothing();
    const retried = history(cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.fail('fetch'), cmd.retryDue('fetch', 2, 40));
    given(retried).when(cmd.succeed('fetch', {}, 1)).thenThrows(IllegalStateError, /stale|at attempt 2, not 1/);
  });

  it('skips a step whose condition is false and runs the steps after it', () => {
    given(normalizing())
      .when(cmd.succeed('normalize', { maxChangePct: 10 }, 1, 5))
      .then([
        { type: 'step.succeeded' },
        { type: 'step.skipped', data: { stepId: 'approve', when: 'outputs.normalize.maxChangePct > 30' } },
        { type: 'step.queued', data: { stepId: 'publish', kind: 'task', target: { service: 'worker', queue: 'pricing' }, timeouts: { startToCloseMs: 600_000, heartbeatMs: 30_000 } } },
      ]);
  });

  it('fails the step (and the run) when its condition reads a missing number', () => {
    given(normalizing())
      .when(cmd.succeed('normalize', {}, 1, 5))
      .then([
        { type: 'step.succeeded' },
        { type: 'step.failed', data: { stepId: 'approve', error: { code: 'when_error', message: expect.stringContaining('cannot compare null') } } },
        { type: 'run.failed', data: { failedSteps: [{ stepId: 'approve', status: 'failed' }] } },
      ]);
  });

  it('succeeds the run when the last step succeeds', () => {
    const h = extend(normalizing(), cmd.succeed('normalize', { maxChangePct: 1 }, 1, 5), cmd.start('publish', 1, 6));
    given(h).when(cmd.succeed('publish', { published: 12 }, 1, 7)).then([{ type: 'step.succeeded' }, { type: 'run.succeeded', data: { durationMs: 7000, succeededAt: iso(7) } }]);
  });
});

describe('run decider: approvals', () => {
  it('asks the operators and marks the run as awaiting approval', () => {
    given(normalizing())
      .when(cmd.succeed('normalize', { maxChangePct: 50 }, 1, 5))
      .then([
        { type: 'step.succeeded' },
        { type: 'step.queued', data: { stepId: 'approve', kind: 'approval', target: { service: 'operators' } } },
        { type: 'approval.requested', data: { approvers: ['pricing-team'], timeoutMs: 14_400_000, onTimeout: 'fail', dueAt: new Date(T0.getTime() + 5000 + 14_400_000).toISOString() } },
        { type: 'run.awaiting_approval', data: { stepIds: ['approve'] } },
      ]);
  });

  it('a grant queues the next step and resumes the run', () => {
    given(awaiting())
      .when(cmd.grant())
      .then([{ type: 'approval.granted', data: { approver: 'ana', comment: 'ok', auto: false } }, { type: 'step.queued', data: { stepId: 'publish', input: { outputs: { approve: { approved: true, approver: 'ana' } } } } }, { type: 'run.resumed' }]);
  });

  it('a rejection fails the run', () => {
    given(awaiting()).when(cmd.reject()).then([{ type: 'approval.rejected', data: { comment: 'too big' } }, { type: 'run.failed', data: { failedSteps: [{ stepId: 'approve', status: 'failed', error: { code: 'approval_rejected' } }] } }]);
  });

  it('refuses a decision on a step that is not awaiting one', () => {
    given(normalizing()).when(cmd.grant()).thenThrows(IllegalStateError, /approval.granted is not allowed in state pending/);
    const granted = extend(awaiting(), cmd.grant());
    given(granted).when(cmd.reject()).thenThrows(IllegalStateError, /not allowed in state succeeded/);
  });

  it('on timeout fails the step as its definition says (onTimeout: fail)', () => {
    given(awaiting()).when(cmd.approvalTimeout()).then([{ type: 'step.timed_out', data: { timeout: 'approval' } }, { type: 'run.failed' }]);
  });

  it('on timeout approves automatically (onTimeout: approve)', () => {
    const wf = { ...PRICES, steps: PRICES.steps.map((s) => (s.kind === 'approval' ? { ...s, approval: { ...s.approval, onTimeout: 'approve' as const } } : s)) };
    const h = history(cmd.request({ workflow: wf }), cmd.admit(), cmd.succeed('fetch'), cmd.succeed('normalize', { maxChangePct: 99 }));
    given(h).when(cmd.approvalTimeout()).then([{ type: 'approval.granted', data: { auto: true, approver: 'steward:timeout' } }, { type: 'step.queued', data: { stepId: 'publish' } }, { type: 'run.resumed' }]);
  });

  it('on timeout escalates once, then fails (onTimeout: escalate)', () => {
    const wf = { ...PRICES, steps: PRICES.steps.map((s) => (s.kind === 'approval' ? { ...s, approval: { ...s.approval, onTimeout: 'escalate' as const } } : s)) };
    const h = history(cmd.request({ workflow: wf }), cmd.admit(), cmd.succeed('fetch'), cmd.succeed('normalize', { maxChangePct: 99 }));
    given(h).when(cmd.approvalTimeout()).then([{ type: 'approval.escalated', data: { approvers: ['pricing-team'] } }]);
    const escalated = extend(h, cmd.approvalTimeout());
    given(escalated).when(cmd.approvalTimeout('approve', 30_000)).then([{ type: 'step.timed_out' }, { type: 'run.failed' }]);
  });

  it('ignores an approval timer that fires after the decision', () => {
    const granted = extend(awaiting(), cmd.grant());
    given(granted).when(cmd.approvalTimeout()).thenNothing();
  });

  it('stays awaiting approval until the last of two parallel approvals is decided', () => {
    const wf = variant(`steps:\n  - id: a\n    approval: { approvers: [x] }\n  - id: b\n    approval: { approvers: [y] }\n  - id: c\n    needs: [a, b]\n    task: { handler: h }\n`);
    const h = history(cmd.request({ workflow: wf }));
    const admittedTwo = given(h)
      .when(cmd.admit())
      .then([{ type: 'run.queued' }, { type: 'step.queued' }, { type: 'run.started' }, { type: 'approval.requested' }, { type: 'step.queued' }, { type: 'approval.requested' }, { type: 'run.awaiting_approval', data: { stepIds: ['a', 'b'] } }]);
    const one = extend([...h, ...admittedTwo], cmd.grant('a'));
    expect(types(one.slice(h.length + admittedTwo.length))).toEqual(['approval.granted']);
    given(one).when(cmd.grant('b', 11)).then([{ type: 'approval.granted' }, { type: 'step.queued', data: { stepId: 'c' } }, { type: 'run.resumed' }]);
  });
});

describe('run decider as a Decider', () => {
  it('ignores other event types on the run stream and names its stream', () => {
    expect(asDecider.initialState()).toEqual({ status: 'none' });
    const state = runDecider.evolve(runDecider.initialState(), { type: 'timer.requested', data: {} });
    expect(state).toEqual({ status: 'none' });
    expect(runStreamId('r1')).toBe('run-r1');
  });

  it('refuses a stream whose events break the state machines', () => {
    const [requested] = history(cmd.request());
    expect(() => runDecider.evolve(runDecider.initialState(), { type: 'run.started', data: { runId: 'r1', workflowId: 'prices', startedAt: iso(0) } })).toThrow(IllegalStateError);
    const pending = runDecider.evolve(runDecider.initialState(), requested!);
    expect(() => runDecider.evolve(pending, { type: 'step.started', data: { runId: 'r1', workflowId: 'prices', stepId: 'fetch', attempt: 1, startedAt: iso(1) } })).toThrow(
      /step: step.started is not allowed in state pending \(allowed: step.queued, step.skipped, step.failed, step.cancelled\)/,
    );
    expect(() => runDecider.evolve(pending, requested!)).toThrow(/already requested/);
  });
});
