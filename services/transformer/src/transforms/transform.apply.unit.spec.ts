import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { applyTransform, CaptureTransformError, canonicalJson, contentHash } from './transform.apply';
import { z } from 'zod';
import { checkTransform, defineTransform } from './transform.define';
import { loadTransforms } from './transform.registry';

const examples = loadTransforms([join(__dirname, '../../../../examples/transforms')]);
const capture = { captureId: '0190a8e0-0000-7000-8000-000000000001', source: 'acme.prices', contentType: 'text/csv', capturedAt: '2026-01-01T00:00:00Z' };
const must = (ref: string) => {
  const t = examples.get(ref);
  if (!t) throw new Error(`example ${ref} not loaded`);
  return t;
};

describe('applyTransform', () => {
  it('parses CSV by header and validates each row, quarantining bad ones with the zod path and never stopping', () => {
    const csv = ['sku,description,price,currency', 'AB-100,Bolt,1.25,eur', 'bad sku,Nut,0.10,EUR', 'AB-200,Washer,abc,EUR', 'AB-300,Screw,3,usd'].join('\n');
    const out = applyTransform(must('supplier-prices@2'), csv, capture);
    expect(out.total).toBe(4);
    expect(out.rows.map((r) => [r.key, r.data])).toEqual([
      ['AB-100', { sku: 'AB-100', description: 'Bolt', priceMinor: 125, currency: 'EUR' }],
      ['AB-300', { sku: 'AB-300', description: 'Screw', priceMinor: 300, currency: 'USD' }],
    ]);
    expect(out.quarantined).toEqual([
      expect.objectContaining({ rowIndex: 1, reason: 'sku: expected an upper-case SKU', raw: expect.objectContaining({ sku: 'BAD SKU' }) }),
      expect.objectContaining({ rowIndex: 2, reason: expect.stringContaining('priceMinor: '), issues: [expect.objectContaining({ path: 'priceMinor' })] }),
    ]);
  });

  it('parses JSON and extracts one row per rate with a composite key', () => {
    const body = JSON.stringify({ base: 'EUR', date: '2026-01-02', rates: { USD: '1.08', GBP: 0.86, XX: 'n/a' } });
    const out = applyTransform(must('exchange-rates@1'), Buffer.from(body), capture);
    expect(out.rows.map((r) => r.key)).toEqual(['["EUR","USD"]', '["EUR","GBP"]']);
    expect(out.quarantined).toHaveLength(1);
    expect(out.quarantined[0]!.reason).toContain('currency');
    expect(out.quarantined[0]!.reason).toContain('rate: expected a decimal rate');
  });

  it('parses HTML with a real parser (nested markup, entities, unclosed cells)', () => {
    const html = `<html><body><table id="products"><thead><tr><th>Name</th></tr></thead><tbody>
      <tr data-sku="P-1"><td><b>Hex</b> bolt &amp; nut<td>2.50<td>yes
      <tr data-sku="P-2"><td>Washer</td><td>0.05</td><td>no</td></tr>
      <tr><td>No sku</td><td>1.00</td><td>yes</td></tr>
    </tbody></table></body></html>`;
    const out = applyTransform(must('product-listing@1'), html, capture);
    expect(out.rows.map((r) => r.data)).toEqual([
      { sku: 'P-1', name: 'Hex bolt & nut', price: '2.50', inStock: true },
      { sku: 'P-2', name: 'Washer', price: '0.05', inStock: false },
    ]);
    expect(out.quarantined).toEqual([expect.objectContaining({ rowIndex: 2, reason: expect.stringContaining('sku') })]);
  });

  it('keeps the later of two rows with one key', () => {
    const csv = 'sku,description,price,currency\nAB-1,a,1.00,EUR\nAB-1,b,2.00,EUR\n';
    const out = applyTransform(must('supplier-prices@1'), csv, capture);
    expect(out.total).toBe(2);
    expect(out.rows).toHaveLength(1);
    expect(out.rows[0]!.data).toMatchObject({ description: 'b', price: '2.00' });
  });

  it('refuses a whole body that does not parse', () => {
    expect(() => applyTransform(must('exchange-rates@1'), '{"base": ', capture)).toThrow(CaptureTransformError);
    expect(() => applyTransform(must('exchange-rates@1'), '{"base": ', capture)).toThrow(/json body of capture .* does not parse/);
  });

  it('quarantines a row whose key function fails', () => {
    const t = checkTransform(defineTransform({ name: 'k', version: 1, dataset: 'k', parser: 'json', schema: (zod) => zod.object({ id: z.string().optional() }), key: ['id'] }), 'inline.js', 'default');
    const out = applyTransform(t, '[{"id":"a"},{}]', capture);
    expect(out.rows.map((r) => r.key)).toEqual(['a']);
    expect(out.quarantined[0]).toMatchObject({ rowIndex: 1, reason: 'key: key field "id" is empty' });
  });
});

describe('content hash', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });

  it('keeps the form stored hashes were computed with', () => {
    expect(canonicalJson({ b: undefined, a: [undefined, null, new Date(0)], '10': 'x', '2': { z: -0, y: NaN, 'é': 'q"' } })).toBe(
      '{"10":"x","2":{"y":null,"z":0,"é":"q\\""},"a":[null,null,"1970-01-01T00:00:00.000Z"]}',
    );
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson(undefined)).toBe('null');
    // sha-256 of '{"a":1,"b":"x"}', as the first release stored it
    expect(contentHash({ b: 'x', a: 1 })).toBe(createHash('sha256').update('{"a":1,"b":"x"}').digest('hex'));
  });
});
