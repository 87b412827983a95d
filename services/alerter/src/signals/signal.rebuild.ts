import { toEnvelope } from '@steward/contracts';
import type { RebuildTarget } from '@steward/runtime';
import { SIGNAL_EVENTS, type SignalProjector } from './signal.projector';

const AFTER_END = `(e.transaction_id, e.global_position) > ($2::xid8, $3::bigint)`;
/** A row of one run moved by an event stored after the rebuild's frozen end. */
const RUN_MOVED = `EXISTS (SELECT 1 FROM events e WHERE e.run_id = t.run_id AND ${AFTER_END})`;

/**
 * `steward replay start --rebuild alerter --types <the watched types>`: the
 * signal projection (what the rules measure) folded again with the live
 * batch path, SignalProjector.applyBatch, without evaluating rules, and
 * compared. Alerts, groups, notifications and escalations are not part of
 * it: they depend on when rules were evaluated and on operators' acks, not
 * on these events alone. Rows moved after the frozen end are skipped.
 */
export function signalRebuildTarget(projector: SignalProjector): RebuildTarget {
  return {
    service: 'alerter',
    tables: [
      {
        name: 'alerter_workflows',
        changedAfterEnd: `EXISTS (SELECT 1 FROM events e WHERE (e.workflow_id = t.workflow_id OR (e.type LIKE 'workflow.%' AND e.data->>'id' = t.workflow_id)) AND ${AFTER_END})`,
      },
      { name: 'alerter_run_outcomes', changedAfterEnd: RUN_MOVED },
      { name: 'alerter_dead_letters', changedAfterEnd: RUN_MOVED },
      { name: 'alerter_stalled_steps', changedAfterEnd: RUN_MOVED },
      { name: 'alerter_step_attempts', changedAfterEnd: RUN_MOVED },
      { name: 'alerter_source_outcomes', changedAfterEnd: `EXISTS (SELECT 1 FROM events e WHERE e.event_id::text = t.event_id AND ${AFTER_END})` },
      { name: 'alerter_budgets', changedAfterEnd: `EXISTS (SELECT 1 FROM events e WHERE e.type = 'budget.threshold_crossed' AND e.data->>'id' = t.id AND ${AFTER_END})` },
    ],
    types: SIGNAL_EVENTS,
    fold: (tx, events) => projector.applyBatch(tx, events.map(toEnvelope), async () => undefined),
  };
}
