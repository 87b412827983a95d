// pnpm bench:queries: p50/p99 latency of the event store's filtered reads
// (correlation, run, workflow + last hour, type + time range, causation chain)
// on a scratch database holding BENCH_EVENTS events (default 10 million).
import { createPool, EventStore, migrate } from '@steward/event-store';
import { emit, env, note, scratchDatabase } from './bench-kit';
import { seedEventHistory } from './event-history.seed';
import { explainShapes, queryShapes, timeShape } from './query-suite';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);

async function main(): Promise<void> {
  const db = await scratchDatabase(env.databaseUrl, 'queries');
  const pool = createPool(db.url, { max: 2, applicationName: 'steward-bench' });
  try {
    await migrate(db.url);
    const started = Date.now();
    const history = await seedEventHistory(pool, EVENTS, note);
    note(`${EVENTS} events seeded in ${Math.round((Date.now() - started) / 1000)} s (${history.runs} runs, ${history.workflows} workflows)`);
    await explainShapes(pool, history, SAMPLES);
    for (const shape of Object.values(queryShapes(new EventStore(pool), history, SAMPLES))) {
      const t = await timeShape(shape, SAMPLES);
      emit({ bench: `store.query.${shape.name}.p50_ms`, value: t.p50, unit: 'ms', events: EVENTS });
      emit({ bench: `store.query.${shape.name}.p99_ms`, value: t.p99, unit: 'ms', events: EVENTS });
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
