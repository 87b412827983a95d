// Handler of examples/checkout-probe.workflow.yaml: a synthetic check of a
// simulated checkout, appending one line per probe to a JSONL file.
'use strict';
const { appendFileSync } = require('node:fs');
const { join } = require('node:path');
const { seeded, dataDir, taskError } = require('../lib/example-data');

module.exports = {
  name: 'checkout-probe',
  async run(_input, ctx) {
    const random = seeded(`probe:${ctx.runId}:${ctx.attempt}`);
    const stages = {};
    for (const stage of ['home', 'cart', 'payment']) {
      const ms = Math.round(20 + random() * 80);
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(taskError('cancelled', 'probe stopped', false))), { once: true });
      });
      stages[stage] = ms;
    }
    const totalMs = Object.values(stages).reduce((a, b) => a + b, 0);
    appendFileSync(join(dataDir(ctx, 'probes'), 'checkout.jsonl'), `${JSON.stringify({ runId: ctx.runId, at: new Date().toISOString(), stages, totalMs })}\n`);
    // About one probe in twenty finds the payment stage slow, which is what the SLO is for.
    if (stages.payment > 95) throw taskError('slow_checkout', `payment stage took ${stages.payment} ms`, true);
    return { totalMs, stages };
  },
};
