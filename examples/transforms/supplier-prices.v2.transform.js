// supplier-prices@2: the same CSV into version 2, with prices as integer
// minor units, SKUs and currency codes upper-cased, and a description
// required. Replay old captures through it (`steward replay start --source
// ... --transform supplier-prices@2`), compare with `steward replay diff`,
// then `steward datasets promote supplier-prices 2`.
'use strict';

function minorUnits(price) {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(price).trim());
  if (!m) return price; // left for the schema to refuse, with its path
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

module.exports = {
  name: 'supplier-prices',
  version: 2,
  dataset: 'supplier-prices',
  parser: 'csv',
  description: 'Supplier price list rows keyed by SKU, prices in minor units',
  extract: (records) => records.map((r) => ({ sku: String(r.sku || '').toUpperCase(), description: r.description || '', priceMinor: minorUnits(r.price), currency: String(r.currency || '').toUpperCase() })),
  schema: (z) =>
    z.object({
      sku: z.string().regex(/^[A-Z0-9-]{3,40}$/, 'expected an upper-case SKU'),
      description: z.string().min(1, 'expected a description').max(500),
      priceMinor: z.number().int().nonnegative(),
      currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code'),
    }),
  key: ['sku'],
  changeField: 'priceMinor',
};
