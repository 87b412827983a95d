// pnpm bench:timeline: p50/p99 latency of one timeline page (EventStore.query,
// limit 100, as the gateway's timeline asks) for one run and for one workflow
// over the last hour, with each size in BENCH_SIZES stored (default 1e6,1e7).
import { createPool, EventStore, migrate } from '@steward/event-store';
import { emit, env, note, scratchDatabase } from './bench-kit';
import { seedEventHistory } from './event-history.seed';
import { explainShapes, queryShapes, timeShape } from './query-suite';

const SIZES = (process.env.BENCH_SIZES ?? '1e6,1e7').split(',').map((s) => Math.round(Number(s.trim())));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
/** Timeline selectors and the name each figure goes by. */
const TIMELINES = { run: 'run', workflow_last_hour: 'workflow' } as const;

async function measure(events: number): Promise<void> {
  // A fresh database per size: each history spans the same 30 days, so "the last hour" means the same at both sizes.
  const db = await scratchDatabase(env.databaseUrl, 'timeline');
  const pool = createPool(db.url, { max: 2, applicationName: 'steward-bench' });
  try {
    await migrate(db.url);
    const started = Date.now();
    const history = await seedEventHistory(pool, events, note);
    note(`${events} events seeded in ${Math.round((Date.now() - started) / 1000)} s`);
    await explainShapes(pool, history, SAMPLES);
    const shapes = queryShapes(new EventStore(pool), history, SAMPLES);
    for (const [shape, name] of Object.entries(TIMELINES)) {
      const t = await timeShape(shapes[shape]!, SAMPLES);
      emit({ bench: `timeline.${name}.p50_ms`, value: t.p50, unit: 'ms', events });
      emit({ bench: `timeline.${name}.p99_ms`, value: t.p99, unit: 'ms', events });
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (SIZES.some((n) => !Number.isInteger(n) || n < 10_000)) throw new Error(`BENCH_SIZES must be sizes of at least 10000 events, got ${process.env.BENCH_SIZES}`);
  for (const events of SIZES) await measure(events);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
