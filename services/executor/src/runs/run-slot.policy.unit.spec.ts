import { parseWorkflow } from '@steward/workflow';
import { decideAdmission, slotOf, type RunSlot } from './run-slot.policy';

const base = 'id: w\nowner: o\nrunbook: r\nsteps:\n  - id: a\n    task: { handler: h }\n';

describe('run slots: concurrency key and limit', () => {
  it('has no limit without concurrency and without an overlap policy that needs one', () => {
    expect(slotOf(parseWorkflow(base), {}, { kind: 'manual' })).toEqual({ key: 'w', limit: null });
    expect(slotOf(parseWorkflow(`${base}schedule: { every: 5m, overlap: allow }\n`), {}, { kind: 'schedule' })).toEqual({ key: 'w', limit: null, overlap: 'allow' });
  });

  it('counts one run at a time for a schedule whose overlap policy is not allow', () => {
    expect(slotOf(parseWorkflow(`${base}schedule: { every: 5m, overlap: skip }\n`), {}, { kind: 'schedule' })).toEqual({ key: 'w', limit: 1, overlap: 'skip' });
  });

  it('keys runs by the concurrency key over the inputs, defaults included; operator runs have no overlap policy', () => {
    const wf = parseWorkflow(`${base}concurrency: { limit: 2, key: "inputs.region" }\ninputs:\n  region: { type: string, default: eu }\nschedule: { every: 5m, overlap: skip }\n`);
    expect(slotOf(wf, { region: 'us' }, { kind: 'schedule' })).toEqual({ key: 'w:"us"', limit: 2, overlap: 'skip' });
    expect(slotOf(wf, {}, { kind: 'manual' })).toEqual({ key: 'w:"eu"', limit: 2 });
  });
});

describe('admission: what happens to a new run', () => {
  const slot = (overlap?: RunSlot['overlap'], limit: number | null = 1): RunSlot => ({ key: 'w', limit, ...(overlap !== undefined && { overlap }) });

  it('admits when a slot is free and nobody waits', () => {
    expect(decideAdmission(slot('skip'), { active: 0, pending: 0 })).toBe('admit');
    expect(decideAdmission(slot(undefined, null), { active: 99, pending: 0 })).toBe('admit');
    expect(decideAdmission(slot('buffer_all', 2), { active: 1, pending: 0 })).toBe('admit');
  });

  it('never lets a new run overtake one that waits', () => {
    expect(decideAdmission(slot('buffer_all', 2), { active: 1, pending: 1 })).toBe('wait');
  });

  it.each([
    ['skip', { active: 1, pending: 0 }, 'skip'],
    ['buffer_one', { active: 1, pending: 0 }, 'wait'],
    ['buffer_one', { active: 1, pending: 1 }, 'skip'],
    ['buffer_all', { active: 1, pending: 5 }, 'wait'],
    ['cancel_previous', { active: 1, pending: 0 }, 'cancel_previous'],
    ['allow', { active: 1, pending: 0 }, 'wait'],
    [undefined, { active: 1, pending: 0 }, 'wait'],
  ] as const)('overlap %s with %j open: %s', (overlap, open, expected) => {
    expect(decideAdmission(slot(overlap), open)).toBe(expected);
  });
});
