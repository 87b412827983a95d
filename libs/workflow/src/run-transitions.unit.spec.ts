import { at, cmd, PRICES, variant } from './run.fixture.spec';
import { decideRun, evolveRun, initialRunState, runStateMachine, stepStateMachine, type RunCommand, type RunEvent, type RunState, type WorkflowDefinition } from './index';

// Every row of both transition tables must be produced by the decider in at
// least one journey below: a row that no command can reach is dead, and a
// row the decider uses that the table lacks would throw in evolve.

const withApproval = (onTimeout: 'fail' | 'escalate' | 'approve'): WorkflowDefinition => ({
  ...PRICES,
  steps: PRICES.steps.map((s) => (s.kind === 'approval' ? { ...s, approval: { ...s.approval, onTimeout } } : s)),
});
const lastApproval = variant(`steps:\n  - id: a\n    task: { handler: h }\n  - id: ok\n    needs: [a]\n    approval: { approvers: [x], onTimeout: approve }\n`);
const allSkipped = variant(`steps:\n  - id: a\n    when: "false"\n    task: { handler: h }\n`);
const badCondition = variant(`steps:\n  - id: a\n    when: "inputs.n > 1"\n    task: { handler: h }\n`);
const oneRetry = variant(`retry: { maxAttempts: 1 }\nsteps:\n  - id: a\n    task: { handler: h }\n`);

const toApproval = [cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.succeed('fetch'), cmd.start('normalize'), cmd.succeed('normalize', { maxChangePct: 99 })];

const journeys: Record<string, { commands: RunCommand[] }> = {
  'approved and published': { commands: [...toApproval, cmd.grant(), cmd.start('publish'), cmd.succeed('publish')] },
  'all steps skipped': { commands: [cmd.request({ workflow: allSkipped }), cmd.admit()] },
  'condition type error': { commands: [cmd.request({ workflow: badCondition, input: { n: 'x' } }), cmd.admit()] },
  'approval rejected': { commands: [...toApproval, cmd.reject()] },
  'approval escalated then timed out': { commands: [cmd.request({ workflow: withApproval('escalate') }), ...toApproval.slice(1), cmd.approvalTimeout(), cmd.approvalTimeout()] },
  'last step approved at timeout': { commands: [cmd.request({ workflow: lastApproval }), cmd.admit(), cmd.start('a'), cmd.succeed('a'), cmd.approvalTimeout('ok')] },
  'retried, dead-lettered, requeued': {
    commands: [
      cmd.request({ workflow: oneRetry }),
      cmd.admit(),
      cmd.start('a'),
      cmd.fail('a', 1, 3),
      cmd.retryDue('a', 2, 40),
      cmd.start('a', 2, 41),
      cmd.fail('a', 2, 42),
      cmd.requeue('a'),
      cmd.start('a', 3, 5001),
      cmd.succeed('a', {}, 3, 5002),
    ],
  },
  'dead-lettered, then discarded': {
    commands: [
      cmd.request({ workflow: oneRetry }),
      cmd.admit(),
      cmd.start('a'),
      cmd.fail('a', 1, 3, 'bad_input', false),
      { type: 'DiscardDeadLetter', runId: 'r1', stepId: 'a', actor: 'ana', reason: 'bad row', now: at(9) },
    ],
  },
  'timed out before and after starting': {
    commands: [
      cmd.request({ workflow: oneRetry }),
      cmd.admit(),
      cmd.timeout('a', 'schedule_to_start', 1, 600),
      cmd.retryDue('a', 2, 640),
      cmd.start('a', 2, 641),
      cmd.timeout('a', 'start_to_close', 2, 1300),
    ],
  },
  'cancelled while pending': { commands: [cmd.request(), cmd.cancel()] },
  'cancelled while queued': { commands: [cmd.request(), cmd.admit(), cmd.cancel()] },
  'cancelled while running': { commands: [cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.cancel()] },
  'cancelled while retrying': { commands: [cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.fail('fetch'), cmd.cancel()] },
  'cancelled while awaiting approval': { commands: [...toApproval, cmd.cancel()] },
  'timed out while pending': { commands: [cmd.request(), cmd.timeOutRun()] },
  'timed out while queued': { commands: [cmd.request(), cmd.admit(), cmd.timeOutRun()] },
  'timed out while running': { commands: [cmd.request(), cmd.admit(), cmd.start('fetch'), cmd.timeOutRun()] },
  'timed out while awaiting approval': { commands: [...toApproval, cmd.timeOutRun()] },
};

/** `machine|from|event` for every status change the events make, in order. */
function exercised(events: RunEvent[], state: RunState, seen: Set<string>): RunState {
  for (const e of events) {
    const before = state;
    state = evolveRun(state, e);
    if (before.status === 'none') continue;
    if (runStateMachine.transitions.some((t) => t.event === e.type)) seen.add(`run|${before.status}|${e.type}`);
    const stepId = (e.data as { stepId?: string }).stepId;
    if (stepId !== undefined && e.type !== 'run.reopened') seen.add(`step|${before.steps[stepId]!.status}|${e.type}`);
  }
  return state;
}

const seen = new Set<string>();
beforeAll(() => {
  for (const journey of Object.values(journeys)) {
    let state = initialRunState();
    for (const command of journey.commands) state = exercised(decideRun(command, state), state, seen);
  }
});

describe('the run decider uses every transition of the tables', () => {
  it.each(runStateMachine.transitions.map((t) => [`${t.from} --${t.event}--> ${t.to}`, t]))('run %s', (_, t) => {
    expect(seen).toContain(`run|${t.from}|${t.event}`);
  });

  it.each(stepStateMachine.transitions.map((t) => [`${t.from} --${t.event}--> ${t.to}`, t]))('step %s', (_, t) => {
    expect(seen).toContain(`step|${t.from}|${t.event}`);
  });

  it('uses no transition the tables lack (evolve would have thrown)', () => {
    const known = new Set([
      ...runStateMachine.transitions.map((t) => `run|${t.from}|${t.event}`),
      ...stepStateMachine.transitions.map((t) => `step|${t.from}|${t.event}`),
    ]);
    expect([...seen].filter((k) => !known.has(k))).toEqual([]);
  });
});
