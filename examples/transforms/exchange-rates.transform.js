// exchange-rates@1: a JSON rates document ({ base, date, rates: { EUR: "0.92" } })
// into one row per (base, currency). Rates are decimal strings.
'use strict';

module.exports = {
  name: 'exchange-rates',
  version: 1,
  dataset: 'exchange-rates',
  parser: 'json',
  extract: (doc) => Object.entries((doc && doc.rates) || {}).map(([currency, rate]) => ({ base: doc.base, date: doc.date, currency, rate: String(rate) })),
  schema: (z) =>
    z.object({
      base: z.string().regex(/^[A-Z]{3}$/),
      date: z.iso.date(),
      currency: z.string().regex(/^[A-Z]{3}$/),
      rate: z.string().regex(/^\d+(\.\d+)?$/, 'expected a decimal rate'),
    }),
  key: ['base', 'currency'],
};
