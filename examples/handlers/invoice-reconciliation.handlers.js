// Handlers of examples/invoice-reconciliation.workflow.yaml: export the day's
// invoices and bank payments, match them, and write the exceptions report.
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { seeded, dataDir, taskError } = require('../lib/example-data');

const CUSTOMERS = ['northwind', 'contoso', 'fabrikam', 'tailspin', 'litware', 'adatum'];

exports.exportLedger = {
  name: 'ledger-export',
  run(input, ctx) {
    const day = input.inputs.day || new Date().toISOString().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw taskError('bad_input', `day must be YYYY-MM-DD, got "${day}"`, false);
    const random = seeded(`ledger:${day}`);
    const invoices = [];
    const payments = [];
    for (let i = 1; i <= 120; i++) {
      const id = `INV-${day.replace(/-/g, '')}-${String(i).padStart(4, '0')}`;
      const amount = Math.round(50 + random() * 4950) * 100; // cents
      invoices.push({ id, customer: CUSTOMERS[Math.floor(random() * CUSTOMERS.length)], amount });
      const r = random();
      if (r < 0.9) payments.push({ ref: id, amount });
      else if (r < 0.95) payments.push({ ref: id, amount: amount - 100 }); // short-paid by a bank fee
      // else: unpaid
    }
    payments.push({ ref: 'UNKNOWN-REF-1', amount: 12345 });
    ctx.reportUsage({ provider: 'erp', endpoint: '/ledger/export', units: invoices.length + payments.length, unit: 'rows' });
    return { day, invoices, payments };
  },
};

exports.matchInvoices = {
  name: 'invoice-matcher',
  async run(input, ctx) {
    const ledger = input.outputs.export;
    if (!ledger) throw taskError('missing_input', 'matching needs the export step', false);
    const byRef = new Map(ledger.payments.map((p) => [p.ref, p]));
    const exceptions = [];
    let matched = 0;
    for (const [i, inv] of ledger.invoices.entries()) {
      if (ctx.signal.aborted) throw taskError('cancelled', 'stopped on request', false);
      // Long batches tell the executor they are alive (the step sets a heartbeat timeout).
      if (i % 25 === 0) {
        ctx.heartbeat();
        await new Promise((r) => setImmediate(r));
      }
      const paid = byRef.get(inv.id);
      byRef.delete(inv.id);
      if (!paid) exceptions.push({ kind: 'unpaid', invoice: inv.id, customer: inv.customer, amount: inv.amount });
      else if (paid.amount !== inv.amount) exceptions.push({ kind: 'amount_mismatch', invoice: inv.id, customer: inv.customer, expected: inv.amount, paid: paid.amount });
      else matched++;
    }
    for (const p of byRef.values()) exceptions.push({ kind: 'unknown_payment', ref: p.ref, amount: p.amount });
    const matchRatePct = +((matched / ledger.invoices.length) * 100).toFixed(2);
    ctx.logger.info('invoices matched', { day: ledger.day, matched, exceptions: exceptions.length, matchRatePct });
    return { day: ledger.day, matched, exceptionCount: exceptions.length, matchRatePct, exceptions };
  },
};

exports.writeReport = {
  name: 'reconciliation-report',
  run(input, ctx) {
    const result = input.outputs.match;
    if (!result) throw taskError('missing_input', 'the report needs the match step', false);
    const file = join(dataDir(ctx, 'reconciliation'), `${result.day}.csv`);
    const lines = ['kind,reference,customer,expected_cents,paid_cents'];
    for (const e of result.exceptions) lines.push([e.kind, e.invoice || e.ref, e.customer || '', e.expected ?? e.amount ?? '', e.paid ?? ''].join(','));
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { report: file, rows: result.exceptions.length, matchRatePct: result.matchRatePct };
  },
};
