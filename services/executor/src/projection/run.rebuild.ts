import { runEvents, type StoredEvent } from '@steward/contracts';
import type { RebuildTarget } from '@steward/runtime';
import type { RunProjector } from './run.projector';

/** A row of one run moved by an event stored after the rebuild's frozen end (`$2`, `$3`). */
const RUN_MOVED = `EXISTS (SELECT 1 FROM events e WHERE e.run_id = t.run_id AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint))`;

/**
 * `steward replay start --rebuild executor --types <run, step and approval
 * events>`: the run projection folded again with the live RunProjector, one
 * decision at a time as it was appended (events of one stream and one
 * transaction), and compared with the live tables. Rows of runs that moved
 * after the frozen end are skipped; dead-letter actions (written by the bulk
 * commands, not by these events) are not compared.
 */
export function runRebuildTarget(projector: RunProjector): RebuildTarget {
  return {
    service: 'executor',
    tables: [
      { name: 'executor_runs', changedAfterEnd: RUN_MOVED },
      { name: 'executor_steps', changedAfterEnd: RUN_MOVED },
      { name: 'executor_step_attempts', changedAfterEnd: RUN_MOVED },
      { name: 'executor_dead_letters', changedAfterEnd: RUN_MOVED },
      { name: 'executor_approvals', changedAfterEnd: RUN_MOVED },
      {
        name: 'executor_duration_baselines',
        ignore: ['updated_at'],
        changedAfterEnd: `EXISTS (SELECT 1 FROM events e WHERE e.workflow_id = t.workflow_id AND e.type = 'run.succeeded' AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint))`,
      },
    ],
    types: runEvents.map((e) => e.type),
    fold: async (tx, events) => {
      for (const decision of decisions(events)) await projector.apply(tx, decision);
    },
  };
}

/** Consecutive events of one stream appended in one transaction: what the live path projected together. */
export function decisions(events: readonly StoredEvent[]): StoredEvent[][] {
  const out: StoredEvent[][] = [];
  for (const e of events) {
    const last = out.at(-1)?.at(-1);
    if (last !== undefined && last.streamId === e.streamId && last.transactionId === e.transactionId) out.at(-1)!.push(e);
    else out.push([e]);
  }
  return out;
}
