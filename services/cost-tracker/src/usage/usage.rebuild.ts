import { allEvents, toEnvelope } from '@steward/contracts';
import type { RebuildTarget } from '@steward/runtime';
import type { Clock } from '../clock';
import type { UsageHandler } from './usage.handler';

/** Events stored after the rebuild's frozen end (`$2`, `$3`), as a FROM item. */
const LATE = `events e WHERE (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint)`;
/** A spend row moved after the end: a late event's record counted towards it. */
const SPEND_MOVED = `EXISTS (SELECT 1 FROM ${LATE.replace('WHERE', 'JOIN cost_records r ON r.source_event_id = e.event_id WHERE')}
  AND r.period = t.period AND (CASE t.scope WHEN 'workflow' THEN r.workflow_id ELSE r.owner END) = t.id)`;

/**
 * `steward replay start --rebuild cost-tracker` (all types: every event
 * counts towards stored event volume): the events folded again through the
 * live batch path (UsageHandler.handleBatch) into shadow tables, and the cost
 * records, spend counters, event volume and attribution compared with the
 * live ones (rows that events stored after the rebuild's end moved are
 * skipped, so it can run while usage keeps arriving). Prices are inputs, read from the live tables; budgets and
 * threshold states (also set by commands) and the threshold events the fold
 * appends stay in the shadow schema and are not compared.
 */
export function usageRebuildTarget(usage: UsageHandler, clock: Clock): RebuildTarget {
  return {
    service: 'cost-tracker',
    tables: [
      { name: 'cost_records', ignore: ['recorded_at'], changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND e.event_id = t.source_event_id)` },
      { name: 'cost_spend', changedAfterEnd: SPEND_MOVED },
      { name: 'cost_spend_daily', changedAfterEnd: SPEND_MOVED },
      { name: 'cost_event_volume', changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND coalesce(e.metadata->>'source', 'steward') = t.source)` },
      { name: 'cost_workflows', ignore: ['updated_at'], changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND e.type = 'workflow.applied' AND e.data->>'id' = t.workflow_id)` },
      { name: 'cost_workflow_versions', changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND e.type = 'workflow.applied' AND e.data->>'id' = t.workflow_id)` },
      { name: 'cost_runs', changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND e.run_id = t.run_id)` },
      { name: 'cost_steps', changedAfterEnd: `EXISTS (SELECT 1 FROM ${LATE} AND e.run_id = t.run_id)` },
    ],
    scratch: ['cost_budgets', 'cost_threshold_states', 'events'],
    types: allEvents.map((e) => e.type),
    fold: async (tx, events) => {
      await usage.handleBatch(tx, events.map(toEnvelope), clock.now());
    },
  };
}
