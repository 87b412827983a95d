// The query shapes the benches time, against a seeded history, through the
// same EventStore calls the gateway's timeline and the CLI make.
import type { Pool } from 'pg';
import { EventStore, type EventFilter } from '@steward/event-store';
import { EVENT_TYPES, ids, randomRun, recentRun, RUN_LENGTH, sampler, type SeededHistory } from './event-history.seed';
import { latencies, note, percentile } from './bench-kit';

const HOUR = 3_600_000;
/** A timeline page, as the gateway asks for it. */
export const PAGE = 100;

export interface QueryShape {
  name: string;
  /** The call for sample k, returning how many events came back. */
  call: (k: number) => Promise<number>;
  /** Fewest events a correct answer can have; a bench that times empty answers proves nothing. */
  minRows: number;
}

/** Sample k's arguments, fixed up front so every shape sees the same spread and reruns repeat. */
function plan<T>(count: number, make: (draw: (below: number) => number) => T, seed: number): T[] {
  const draw = sampler(seed);
  return Array.from({ length: count }, () => make(draw));
}

export function queryShapes(store: EventStore, h: SeededHistory, samples: number): Record<string, QueryShape> {
  const n = samples + 20; // plus warm-up calls
  const runs = plan(n, (d) => randomRun(h, d), 1);
  const recent = plan(n, (d) => recentRun(h, d), 2);
  const windows = plan(n, (d) => ({ type: EVENT_TYPES[d(EVENT_TYPES.length)]!, from: h.start.getTime() + d(29 * 24) * HOUR }), 3);
  const page = (filter: EventFilter) => store.query(filter, { limit: PAGE }).then((r) => r.events.length);
  const byCorrelation = (k: number): EventFilter => ({ correlationId: ids.correlationId(runs[k]!) });
  const byRun = (k: number): EventFilter => ({ runId: ids.runId(runs[k]!) });
  const workflowLastHour = (k: number): EventFilter => ({
    workflowId: ids.workflowId(recent[k]!, h.workflows),
    from: new Date(h.end.getTime() - HOUR),
  });
  const typeInWindow = (k: number): EventFilter => ({
    types: [windows[k]!.type],
    from: new Date(windows[k]!.from),
    to: new Date(windows[k]!.from + HOUR),
  });
  return {
    correlation: { name: 'correlation', call: (k) => page(byCorrelation(k)), minRows: RUN_LENGTH },
    run: { name: 'run', call: (k) => page(byRun(k)), minRows: RUN_LENGTH },
    workflow_last_hour: { name: 'workflow_last_hour', call: (k) => page(workflowLastHour(k)), minRows: 1 },
    // A type can be quiet for an hour: empty answers count, and the mean rows say how many were not.
    type_time_range: { name: 'type_time_range', call: (k) => page(typeInWindow(k)), minRows: 0 },
    causation_chain: {
      name: 'causation_chain',
      call: (k) => store.causationChain(ids.eventId(ids.firstEventOfRun(runs[k]!))).then((e) => e.length),
      minRows: RUN_LENGTH,
    },
  };
}

export interface Latency {
  p50: number;
  p99: number;
  meanRows: number;
}

/** Times one shape; fails loudly when an answer is smaller than a correct one can be. */
export async function timeShape(shape: QueryShape, samples: number): Promise<Latency> {
  let rows = 0;
  let short = 0;
  const ms = await latencies(samples, async (k) => {
    const got = await shape.call(k);
    if (k < samples) {
      rows += got;
      if (got < shape.minRows) short++;
    }
  });
  if (short > 0) throw new Error(`${shape.name}: ${short} of ${samples} answers had fewer than ${shape.minRows} events; the seeded ids do not match`);
  const out = { p50: percentile(ms, 50), p99: percentile(ms, 99), meanRows: rows / samples };
  note(`${shape.name}: p50 ${out.p50.toFixed(2)} ms, p99 ${out.p99.toFixed(2)} ms, ${out.meanRows.toFixed(1)} events per answer`);
  return out;
}

/**
 * With BENCH_EXPLAIN=1, prints the plan of each shape's sample 0: the store
 * runs over a stand-in pool that EXPLAINs every statement instead of
 * answering it, so the plan is that of the exact SQL the store sends.
 */
export async function explainShapes(pool: Pool, h: SeededHistory, samples: number): Promise<void> {
  if (process.env.BENCH_EXPLAIN !== '1') return;
  let plan: string[] = [];
  const explaining = {
    query: async (text: string, values?: unknown[]) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
      plan = rows.map((r) => r['QUERY PLAN']);
      return { rows: [] };
    },
  } as unknown as Pool;
  for (const shape of Object.values(queryShapes(new EventStore(explaining), h, samples))) {
    await shape.call(0);
    note(`${shape.name} plan:\n${plan.map((l) => `  ${l}`).join('\n')}`);
  }
}
