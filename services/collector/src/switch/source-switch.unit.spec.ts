import { disabledMessage } from '../capture/collect-step.handler';
import { DisableSourcePayload, EnableSourcePayload } from './source-switch.schemas';
import { workflowOfSource } from './source-switch';

describe('source switch', () => {
  it('takes what the alerter sends, and an operator enable without a reason', () => {
    expect(DisableSourcePayload.parse({ source: 'supplier-prices.fetch', reason: 'alert 1 (portal): failing' })).toEqual({ source: 'supplier-prices.fetch', reason: 'alert 1 (portal): failing' });
    expect(EnableSourcePayload.parse({ source: 'supplier-prices.fetch' })).toEqual({ source: 'supplier-prices.fetch' });
  });

  it('names the fields at fault', () => {
    const r = DisableSourcePayload.safeParse({ source: 'x'.repeat(194), reason: '', more: 1 });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['', 'reason', 'source']);
    expect(EnableSourcePayload.safeParse({}).error!.issues.map((i) => i.path.join('.'))).toEqual(['source']);
  });

  it('finds the workflow of a step source', () => {
    expect(workflowOfSource('supplier-prices.fetch')).toBe('supplier-prices');
    expect(workflowOfSource('configured-source')).toBeUndefined();
  });

  it('says who disabled a source, why, and how to undo it', () => {
    const at = new Date('2026-12-03T08:00:00Z');
    expect(disabledMessage({ source: 'prices.fetch', reason: 'alert 7 (portal): failing', disabledBy: 'alerter', automated: true, disabledAt: at })).toBe(
      'source prices.fetch is disabled by alerter since 2026-12-03T08:00:00.000Z: alert 7 (portal): failing; to fetch it again, resume the workflow (steward workflows resume prices) or send the collector\'s enable_source',
    );
    expect(disabledMessage({ source: 'prices.fetch', reason: null, disabledBy: 'ops-jane', automated: false, disabledAt: at })).toContain('by ops-jane since 2026-12-03T08:00:00.000Z (no reason given); to fetch it again, send the collector\'s enable_source { source: "prices.fetch" }');
  });
});
