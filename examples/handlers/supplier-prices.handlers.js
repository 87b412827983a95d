// Handlers of examples/supplier-prices.workflow.yaml: fetch a supplier's
// price list, normalise it against the last published one, publish it.
// Offline: the "portal" is a deterministic generator seeded by the run.
'use strict';
const { existsSync, readFileSync, writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const { seeded, dataDir, taskError } = require('../lib/example-data');

const SKUS = ['bolt-m6', 'bolt-m8', 'nut-m6', 'nut-m8', 'washer-6', 'washer-8', 'bracket-l', 'bracket-t', 'hinge-40', 'hinge-60', 'rail-1m', 'rail-2m'];
const BASE = { 'bolt-m6': 0.12, 'bolt-m8': 0.18, 'nut-m6': 0.05, 'nut-m8': 0.07, 'washer-6': 0.02, 'washer-8': 0.03, 'bracket-l': 1.9, 'bracket-t': 2.4, 'hinge-40': 3.1, 'hinge-60': 4.2, 'rail-1m': 7.5, 'rail-2m': 13.9 };

exports.fetchPrices = {
  name: 'supplier-prices-fetch',
  async run(input, ctx) {
    const supplier = input.inputs.supplier || 'acme-fasteners';
    // Lets a newcomer watch a retry: the first attempt meets a "portal outage".
    if (input.inputs.simulate_outage && ctx.attempt === 1) throw taskError('portal_unavailable', `${supplier} portal answered 503`, true);
    const random = seeded(`${supplier}:${ctx.runId}`);
    // A run sometimes carries a big price move, so the approval step has something to approve.
    const shock = random() < 0.25 ? 1.5 : 1;
    const rows = SKUS.map((sku) => ({ sku, currency: 'EUR', price: +(BASE[sku] * (0.9 + random() * 0.2) * (sku.startsWith('rail') ? shock : 1)).toFixed(4) }));
    ctx.reportUsage({ provider: 'supplier-portal', endpoint: `/${supplier}/prices.csv`, units: 1, unit: 'requests', costUsd: 0.001 });
    ctx.logger.info('price list fetched', { supplier, rows: rows.length });
    return { supplier, fetchedAt: new Date().toISOString(), rows };
  },
};

exports.normalizePrices = {
  name: 'supplier-prices-normalize',
  run(input, ctx) {
    const fetched = input.outputs.fetch;
    if (!fetched || !Array.isArray(fetched.rows)) throw taskError('missing_input', 'normalize needs the rows of the fetch step', false);
    const previousFile = join(dataDir(ctx, 'supplier-prices'), `${fetched.supplier}.json`);
    const previous = existsSync(previousFile) ? JSON.parse(readFileSync(previousFile, 'utf8')).prices : {};
    const prices = {};
    let maxChangePct = 0;
    const changes = [];
    for (const row of fetched.rows) {
      const cents = Math.round(row.price * 10000) / 100; // EUR cents, two decimals
      prices[row.sku] = cents;
      const before = previous[row.sku];
      if (before) {
        const pct = +((Math.abs(cents - before) / before) * 100).toFixed(2);
        maxChangePct = Math.max(maxChangePct, pct);
        if (pct >= 5) changes.push({ sku: row.sku, before, after: cents, pct });
      }
    }
    ctx.logger.info('prices normalised', { supplier: fetched.supplier, skus: fetched.rows.length, maxChangePct });
    return { supplier: fetched.supplier, prices, maxChangePct, largeChanges: changes, firstSnapshot: Object.keys(previous).length === 0 };
  },
};

exports.publishPrices = {
  name: 'price-publisher',
  run(input, ctx) {
    const normalised = input.outputs.normalize;
    if (!normalised) throw taskError('missing_input', 'publish needs the normalize step', false);
    const dir = dataDir(ctx, 'supplier-prices');
    const file = join(dir, `${normalised.supplier}.json`);
    const doc = { supplier: normalised.supplier, runId: ctx.runId, publishedAt: new Date().toISOString(), prices: normalised.prices };
    // Write then rename: a reader never sees half a price list, and a retried attempt just rewrites it.
    writeFileSync(`${file}.tmp`, JSON.stringify(doc, null, 2));
    renameSync(`${file}.tmp`, file);
    ctx.logger.info('prices published', { supplier: normalised.supplier, file });
    return { published: file, skus: Object.keys(normalised.prices).length };
  },
};
