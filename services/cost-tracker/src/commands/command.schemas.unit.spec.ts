import { DEFAULT_THRESHOLDS } from '../domain/budget.evaluate';
import { SetBudgetPayload, thresholdsOf } from './command.schemas';

describe('set_budget payload', () => {
  it('takes the gateway body as is: fractions are actual-spend percentages, the forecast one is kept', () => {
    const p = SetBudgetPayload.parse({ scope: 'owner', id: 'pricing-team', monthlyUsd: 40, thresholds: [0.5, 0.8, 1] });
    expect(thresholdsOf(p.thresholds, DEFAULT_THRESHOLDS)).toEqual([
      { kind: 'forecast', percent: 100 },
      { kind: 'actual', percent: 50 },
      { kind: 'actual', percent: 80 },
      { kind: 'actual', percent: 100 },
    ]);
    // 0.07 x 100 is 7.000000000000001 in floating point; the percentage is exact.
    expect(thresholdsOf([0.07], DEFAULT_THRESHOLDS)[1]).toEqual({ kind: 'actual', percent: 7 });
  });

  it('accepts forecast and absolute thresholds, and defaults when none are given', () => {
    expect(thresholdsOf([{ kind: 'forecast', percent: 90 }, { kind: 'actual', amountUsd: 25.5 }], DEFAULT_THRESHOLDS)).toEqual([
      { kind: 'forecast', percent: 90 },
      { kind: 'actual', amountMicros: '25500000' },
    ]);
    expect(thresholdsOf(undefined, DEFAULT_THRESHOLDS)).toEqual(DEFAULT_THRESHOLDS);
  });

  it('names the fields at fault', () => {
    const r = SetBudgetPayload.safeParse({ scope: 'owner', id: '', monthlyUsd: 10, thresholds: [{ kind: 'actual', percent: 50, amountUsd: 5 }], extra: 1 });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['', 'id', 'thresholds.0']);
  });
});
