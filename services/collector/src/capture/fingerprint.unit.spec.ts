import { canonicalJson, fingerprintOf } from './fingerprint';

describe('capture fingerprint', () => {
  const base = { source: 'prices.fetch', request: { kind: 'http', url: 'https://a.example/p', method: 'GET', headers: { accept: 'text/csv' } }, inputs: { day: '2026-12-01' }, runId: 'r1' };

  it('serialises keys in sorted order at every level and leaves out undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 'x' }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":"x","z":1}]},"b":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });

  it('is the same for the same occurrence whatever the key order or attempt', () => {
    const reordered = { runId: 'r1', inputs: { day: '2026-12-01' }, request: { headers: { accept: 'text/csv' }, method: 'GET', url: 'https://a.example/p', kind: 'http' }, source: 'prices.fetch' };
    expect(fingerprintOf(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf(reordered)).toBe(fingerprintOf(base));
  });

  it('changes with the source, the request, the inputs and the run when there is no occurrence', () => {
    const f = fingerprintOf(base);
    expect(fingerprintOf({ ...base, source: 'prices.other' })).not.toBe(f);
    expect(fingerprintOf({ ...base, request: { ...base.request, url: 'https://a.example/q' } })).not.toBe(f);
    expect(fingerprintOf({ ...base, inputs: { day: '2026-12-02' } })).not.toBe(f);
    expect(fingerprintOf({ ...base, runId: 'r2' })).not.toBe(f);
  });

  it('keys scheduled runs by their occurrence time, not the run id, in any offset notation', () => {
    const a = fingerprintOf({ ...base, runId: 'r1', scheduledAt: '2026-12-01T09:00:00Z' });
    expect(fingerprintOf({ ...base, runId: 'r2', scheduledAt: '2026-12-01T10:00:00+01:00' })).toBe(a);
    expect(fingerprintOf({ ...base, scheduledAt: '2026-12-01T09:15:00Z' })).not.toBe(a);
  });
});
