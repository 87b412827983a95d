import { delayBefore, nextPosition, policyFor } from './escalation.plan';

const policy = { steps: [{ after: 0, receivers: ['a'] }, { after: 900_000, receivers: ['b'] }], repeat: 1 };

describe('escalation plan', () => {
  it('walks the steps, loops while repeats remain, then stops', () => {
    expect(nextPosition(policy, { step: 0, loop: 0 })).toEqual({ step: 1, loop: 0 });
    expect(nextPosition(policy, { step: 1, loop: 0 })).toEqual({ step: 0, loop: 1 });
    expect(nextPosition(policy, { step: 1, loop: 1 })).toBeNull();
  });

  it('never loops back without a delay', () => {
    expect(delayBefore(policy, { step: 1, loop: 0 })).toBe(900_000);
    expect(delayBefore(policy, { step: 0, loop: 1 })).toBe(900_000);
  });

  it('picks the policy of the owner and severity', () => {
    const ps = [{ owner: 'a', severity: 'page' as const }, { owner: 'a', severity: 'ticket' as const }];
    expect(policyFor(ps, 'a', 'ticket')).toBe(ps[1]);
    expect(policyFor(ps, 'b', 'page')).toBeUndefined();
  });
});
