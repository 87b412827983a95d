import { decideTransition, type OpenAlert } from './lifecycle';

const t0 = new Date('2026-12-03T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const timings = { forMs: 60_000, keepFiringForMs: 30_000 };

describe('alert lifecycle', () => {
  it('opens a pending alert, or a firing one when `for` is zero', () => {
    expect(decideTransition(undefined, true, timings, t0)).toEqual({ kind: 'open', fire: false });
    expect(decideTransition(undefined, true, { forMs: 0, keepFiringForMs: 0 }, t0)).toEqual({ kind: 'open', fire: true });
    expect(decideTransition(undefined, false, timings, t0)).toEqual({ kind: 'none' });
  });

  it('fires once the condition held for its `for` period', () => {
    const pending: OpenAlert = { state: 'pending', pendingAt: t0, inactiveSince: null };
    expect(decideTransition(pending, true, timings, at(59_999))).toEqual({ kind: 'none' });
    expect(decideTransition(pending, true, timings, at(60_000))).toEqual({ kind: 'fire' });
  });

  it('drops a pending alert whose condition cleared', () => {
    expect(decideTransition({ state: 'pending', pendingAt: t0, inactiveSince: null }, false, timings, at(1)).kind).toBe('resolve');
  });

  it('keeps firing for keepFiringFor after the condition cleared, then resolves', () => {
    const firing: OpenAlert = { state: 'firing', pendingAt: t0, inactiveSince: null };
    expect(decideTransition(firing, false, timings, at(1000))).toEqual({ kind: 'inactive', since: at(1000) });
    const quiet: OpenAlert = { ...firing, inactiveSince: at(1000) };
    expect(decideTransition(quiet, false, timings, at(30_999))).toEqual({ kind: 'none' });
    expect(decideTransition(quiet, false, timings, at(31_000))).toEqual({ kind: 'resolve', reason: 'condition_cleared' });
    expect(decideTransition(quiet, true, timings, at(2000))).toEqual({ kind: 'active_again' });
  });

  it('resolves an acknowledged alert like a firing one', () => {
    expect(decideTransition({ state: 'acknowledged', pendingAt: t0, inactiveSince: null }, false, { forMs: 0, keepFiringForMs: 0 }, t0)).toEqual({ kind: 'resolve', reason: 'condition_cleared' });
  });
});
