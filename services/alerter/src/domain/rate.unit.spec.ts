import { judgeRate } from './rate';

describe('judgeRate', () => {
  it('needs the minimum number of samples before it judges', () => {
    expect(judgeRate({ total: 4, bad: 4, minSamples: 5, threshold: 0.9, kind: 'success' })).toEqual({ status: 'insufficient_samples', samples: 4 });
    expect(judgeRate({ total: 0, bad: 0, minSamples: 0, threshold: 0.5, kind: 'failure' })).toEqual({ status: 'insufficient_samples', samples: 0 });
  });

  it('breaches a success floor only strictly below it', () => {
    expect(judgeRate({ total: 10, bad: 1, minSamples: 5, threshold: 0.9, kind: 'success' })).toEqual({ status: 'ok', rate: 0.9 });
    expect(judgeRate({ total: 10, bad: 2, minSamples: 5, threshold: 0.9, kind: 'success' })).toEqual({ status: 'breached', rate: 0.8 });
  });

  it('breaches a failure ceiling only strictly above it', () => {
    expect(judgeRate({ total: 10, bad: 5, minSamples: 5, threshold: 0.5, kind: 'failure' })).toEqual({ status: 'ok', rate: 0.5 });
    expect(judgeRate({ total: 10, bad: 6, minSamples: 5, threshold: 0.5, kind: 'failure' })).toEqual({ status: 'breached', rate: 0.6 });
  });

  it('rejects counts that cannot be', () => {
    expect(() => judgeRate({ total: 2, bad: 3, minSamples: 1, threshold: 0.5, kind: 'failure' })).toThrow('bad outcomes (3) must be between 0 and the total (2)');
  });
});
