// product-listing@1: an HTML product table (<table id="products">, one <tr>
// per product with data-sku) parsed with cheerio into one row per SKU.
'use strict';

module.exports = {
  name: 'product-listing',
  version: 1,
  dataset: 'product-listing',
  parser: 'html',
  extract: ($) =>
    $('table#products tbody tr')
      .toArray()
      .map((tr) => {
        const cells = $(tr).find('td');
        return { sku: $(tr).attr('data-sku'), name: cells.eq(0).text().trim(), price: cells.eq(1).text().trim(), inStock: cells.eq(2).text().trim() === 'yes' };
      }),
  schema: (z) =>
    z.object({
      sku: z.string().min(1, 'expected data-sku on the row'),
      name: z.string().min(1),
      price: z.string().regex(/^\d+(\.\d{1,2})?$/, 'expected a decimal price'),
      inStock: z.boolean(),
    }),
  key: ['sku'],
};
