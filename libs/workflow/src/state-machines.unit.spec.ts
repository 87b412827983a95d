import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IllegalStateError } from '@steward/contracts';
import {
  allowedEvents,
  defineStateMachine,
  eventsOf,
  renderStateMachineDocs,
  RUN_STATES,
  runStateMachine,
  STEP_STATES,
  stepStateMachine,
  transitionRun,
  transitionStep,
} from './index';

describe('state machines', () => {
  it('docs/state-machines.md shows the tables the code enforces (rebuild with state-machines.cli after a change)', () => {
    const onDisk = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'state-machines.md'), 'utf8');
    expect(onDisk).toBe(renderStateMachineDocs(onDisk));
    for (const t of [...runStateMachine.transitions, ...stepStateMachine.transitions]) {
      expect(onDisk).toContain(`| \`${t.from}\` | \`${t.event}\` | \`${t.to}\` |`);
    }
  });

  it('lists every run and step state the executor reports', () => {
    expect(RUN_STATES).toEqual(['pending', 'queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'timed_out', 'cancelled']);
    expect(STEP_STATES).toEqual(['pending', 'skipped', 'queued', 'running', 'awaiting_approval', 'retrying', 'succeeded', 'failed', 'timed_out', 'cancelled', 'dead_lettered']);
  });

  it.each([
    ['run', runStateMachine, transitionRun],
    ['step', stepStateMachine, transitionStep],
  ] as const)('%s: every (state, event) pair either follows the table or is refused with what was allowed', (_, machine, move) => {
    for (const from of machine.states) {
      for (const event of eventsOf(machine as never)) {
        const row = machine.transitions.find((t) => t.from === from && t.event === event);
        if (row) {
          expect(move(from as never, event)).toBe(row.to);
          continue;
        }
        let error: unknown;
        try {
          move(from as never, event);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(IllegalStateError);
        const allowed = allowedEvents(machine as never, from as never);
        expect((error as IllegalStateError).context).toMatchObject({ machine: machine.name, from, event, allowed });
        expect((error as Error).message).toContain(`${event} is not allowed in state ${from}`);
      }
    }
  });

  it('run terminal states have no way out but reopening a failed run', () => {
    expect(allowedEvents(runStateMachine, 'succeeded')).toEqual([]);
    expect(allowedEvents(runStateMachine, 'cancelled')).toEqual([]);
    expect(allowedEvents(runStateMachine, 'timed_out')).toEqual([]);
    expect(allowedEvents(runStateMachine, 'failed')).toEqual(['run.reopened']);
    expect(() => transitionRun('succeeded', 'run.failed')).toThrow('run: run.failed is not allowed in state succeeded (allowed: none, it is terminal)');
  });

  it('finished steps leave only by retry settlement or an operator requeue (a discard keeps the dead letter)', () => {
    for (const s of ['skipped', 'succeeded', 'cancelled'] as const) expect(allowedEvents(stepStateMachine, s)).toEqual([]);
    expect(allowedEvents(stepStateMachine, 'dead_lettered')).toEqual(['step.requeued', 'step.dead_letter_discarded']);
    expect(transitionStep('dead_lettered', 'step.dead_letter_discarded')).toBe('dead_lettered');
    expect(allowedEvents(stepStateMachine, 'failed')).toEqual(['step.retry_scheduled', 'step.dead_lettered']);
  });

  it('refuses a table with two rows for the same state and event, or an unknown state', () => {
    const t = { from: 'a', event: 'x', to: 'b', note: '' } as const;
    expect(() => defineStateMachine({ name: 'm', states: ['a', 'b'], initial: { state: 'a', event: 'i' }, terminal: ['b'], transitions: [t, t] })).toThrow(/two transitions from a on x/);
    expect(() => defineStateMachine({ name: 'm', states: ['a'], initial: { state: 'a', event: 'i' }, terminal: [], transitions: [t as never] })).toThrow(/unknown state/);
  });
});
