// exchange-rates@2: the same rates document into version 2, with the inverse
// rate beside each rate and JPY-style rates kept to 4 decimals. Backfill the
// captures already kept, without reading the file again, and compare:
//   steward replay start --workflow exchange-rates --transform exchange-rates@2
//   steward replay status ID --watch
//   steward replay diff ID
//   steward datasets promote exchange-rates 2
'use strict';

/** Decimal string with at most `places` decimals, rounded half up, without floating-point noise in the text. */
function fixed(value, places) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n.toFixed(places).replace(/\.?0+$/, '') : String(value);
}

module.exports = {
  name: 'exchange-rates',
  version: 2,
  dataset: 'exchange-rates',
  parser: 'json',
  description: 'Reference rates keyed by (base, currency), with the inverse rate',
  extract: (doc) =>
    Object.entries((doc && doc.rates) || {}).map(([currency, rate]) => ({
      base: doc.base,
      date: doc.date,
      currency,
      rate: fixed(rate, 4),
      inverse: fixed(1 / Number(rate), 6),
    })),
  schema: (z) =>
    z.object({
      base: z.string().regex(/^[A-Z]{3}$/),
      date: z.iso.date(),
      currency: z.string().regex(/^[A-Z]{3}$/),
      rate: z.string().regex(/^\d+(\.\d+)?$/, 'expected a decimal rate'),
      inverse: z.string().regex(/^\d+(\.\d+)?$/, 'expected a decimal inverse rate'),
    }),
  key: ['base', 'currency'],
};
