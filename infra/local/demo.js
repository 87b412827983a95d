// The `./dev up` demo: records a small automation run in the event store and
// shows the ledger relay publishing it to JetStream, in commit order.
'use strict';
const { EventStore, createPool } = require('../../libs/event-store/dist/index.js');
const { Subjects, uuidv7 } = require('../../libs/contracts/dist/index.js');
const fromMessaging = (name) => require(require.resolve(name, { paths: [require('node:path').join(__dirname, '../../libs/messaging')] }));
const { connect } = fromMessaging('@nats-io/transport-node');
const { jetstreamManager } = fromMessaging('@nats-io/jetstream');

async function main() {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/steward';
  const subjects = new Subjects(process.env.STEWARD_NAMESPACE ?? '');
  const pool = createPool(databaseUrl, { max: 2 });
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'steward-demo' });
  const jsm = await jetstreamManager(nc);
  const store = new EventStore(pool);

  const runId = `demo-${uuidv7().slice(-12)}`;
  const correlationId = uuidv7();
  const meta = { source: 'demo', correlationId, workflowId: 'supplier-prices', runId, actor: 'dev-up' };
  const steps = [
    { type: 'demo.run_started', data: { workflow: 'supplier-prices', runId } },
    { type: 'demo.capture_recorded', data: { source: 'portal.example/prices.csv', bytes: 48213, sha256: 'e3b0c442' } },
    { type: 'demo.rows_transformed', data: { transform: 'supplier-prices@2', upserted: 312, quarantined: 1 } },
    { type: 'demo.run_succeeded', data: { durationMs: 2140 } },
  ];
  const startSeq = (await jsm.streams.info(subjects.stream('EVENTS'))).state.last_seq;
  const result = await store.append(`demo-run-${runId}`, steps.map((s) => ({ ...s, metadata: meta })), { expected: 'no_stream' });
  console.log(`appended ${result.events.length} events to stream demo-run-${runId} (correlation ${correlationId})`);

  // Read the stream in sequence order from where it stood before the append.
  const seen = [];
  const deadline = Date.now() + 15_000;
  let seq = startSeq + 1;
  while (seen.length < steps.length && Date.now() < deadline) {
    const m = await jsm.streams.getMessage(subjects.stream('EVENTS'), { seq }).catch(() => null);
    if (!m) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    seq++;
    const e = m.json();
    if (e.correlationid !== correlationId) continue;
    seen.push(e);
    console.log(`  relayed  seq=${m.seq}  ${e.type.padEnd(24)} ${JSON.stringify(e.data)}`);
  }
  await nc.drain();
  await pool.end();
  if (seen.length !== steps.length) throw new Error(`relay published ${seen.length}/${steps.length} demo events; is the ledger running?`);
  console.log('the ledger relayed every event exactly once, in commit order');
  if (process.env.STEWARD_TOKEN) {
    console.log(`\n$ steward timeline --correlation ${correlationId}`);
    const cli = require('node:child_process').spawnSync(process.execPath, [require('node:path').join(__dirname, '../../cli/dist/main.js'), 'timeline', '--correlation', correlationId], { stdio: 'inherit' });
    if (cli.status !== 0) throw new Error(`steward timeline exited ${cli.status}`);
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
