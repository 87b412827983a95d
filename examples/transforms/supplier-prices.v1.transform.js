// supplier-prices@1: a supplier's CSV price list (sku,description,price,currency)
// into dataset supplier-prices version 1. Prices stay decimal strings: money
// never goes through floating point. No SDK import needed: `schema` receives
// the transformer's zod.
'use strict';

module.exports = {
  name: 'supplier-prices',
  version: 1,
  dataset: 'supplier-prices',
  parser: 'csv',
  description: 'Supplier price list rows keyed by SKU',
  schema: (z) =>
    z.object({
      sku: z.string().regex(/^[A-Z0-9-]{3,40}$/, 'expected an upper-case SKU'),
      description: z.string().max(500).default(''),
      price: z.string().regex(/^\d+(\.\d{1,2})?$/, 'expected a decimal price such as 12.50'),
      currency: z.string().regex(/^[A-Za-z]{3}$/, 'expected an ISO 4217 code'),
    }),
  key: ['sku'],
  changeField: 'price',
};
