import { formatDecimal } from './money';
import { priceLine } from './cost.price';
import { usageOf } from './usage.extract';

const base = { id: '0190a000-0000-7000-8000-000000000001', source: 'executor', time: '2026-12-03T10:00:00Z' };

describe('usage extraction and pricing', () => {
  it('reads cpu, memory x time, wall time and reported usage off a task attempt', () => {
    const lines = usageOf({
      ...base,
      type: 'step.succeeded',
      data: {
        runId: 'r1', workflowId: 'w', stepId: 's', attempt: 1, outputs: {}, succeededAt: '2026-12-03T10:00:00Z',
        usage: { cpuMs: 1500, maxRssKb: 1_048_576, wallMs: 2000 },
        reportedUsage: [{ provider: 'openai', model: 'gpt-4o', units: 1234, unit: 'tokens' }, { provider: 'maps', endpoint: 'geocode', units: 2, unit: 'calls', costUsd: 0.01 }],
      },
    });
    expect(lines.map((l) => [l.line, l.resource, formatDecimal(l.quantity)])).toEqual([
      [0, 'cpu-seconds', '1.5'],
      [1, 'memory-gb-seconds', '2'],
      [2, 'wall-seconds', '2'],
      [100, 'api:openai:gpt-4o:tokens', '1234'],
      [101, 'api:maps:geocode:calls', '2'],
      [900, 'events-stored', '1'],
    ]);
    expect(lines[4]!.reportedMicros).toBe(10_000n);
  });

  it('reads requests and bytes off a capture and rows off a transformation', () => {
    expect(usageOf({ ...base, type: 'collection.raw_captured', data: { size: 2048, durationMs: 40, capturedAt: base.time } }).map((l) => l.resource)).toEqual(['collection-requests', 'collection-bytes-in', 'events-stored']);
    const rows = usageOf({ ...base, type: 'transformation.completed', data: { counts: { rows: 120, upserted: 100, unchanged: 20, quarantined: 0 }, durationMs: 5, completedAt: base.time } });
    expect(rows[0]).toMatchObject({ resource: 'transform-rows', service: 'transformer' });
    expect(formatDecimal(rows[0]!.quantity)).toBe('120');
  });

  it('lets a reported cost override the price, keeps unpriced usage at zero and drops unpriced event volume', () => {
    const [cpu, , , reported, volume] = usageOf({
      ...base,
      type: 'step.failed',
      data: { failedAt: base.time, usage: { cpuMs: 1000, wallMs: 1000, maxRssKb: 1 }, reportedUsage: [{ provider: 'x', units: 1, unit: 'calls', costUsd: 0.5 }] },
    });
    const prices = [{ match: '*', rateMicros: '100', from: new Date('2026-01-01T00:00:00Z') }];
    expect(priceLine(reported!, prices)).toMatchObject({ amountMicros: 500_000n, rateSource: 'reported' });
    expect(priceLine(cpu!, [])).toMatchObject({ amountMicros: 0n, rateSource: 'unpriced' });
    expect(priceLine(volume!, [])).toBeNull();
    expect(priceLine(volume!, prices)).toMatchObject({ amountMicros: 100n, rateSource: 'price', rateMicros: '100' });
  });
});
