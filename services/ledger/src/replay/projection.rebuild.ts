import type { RebuildTarget } from '@steward/runtime';
import { applyReplayEvent, REPLAY_PROJECTION_TYPES } from './replay.projection';

/** `steward replay start --rebuild ledger` names this consumer. */
const LEDGER_SERVICE = 'ledger';

/**
 * A live row whose replay recorded anything after the rebuild's frozen end
 * (the rebuild replay's own row included: it started after its end): the
 * rebuild cannot know about it, so it is skipped rather than reported.
 */
const CHANGED_AFTER_END = `EXISTS (
  SELECT 1 FROM events e
   WHERE (e.stream_id = 'replay-' || t.replay_id
          OR (e.type IN ('transformation.replay_completed', 'replay.failed') AND e.data->>'replayId' = t.replay_id))
     AND (e.transaction_id, e.global_position) > ($2::xid8, $3::bigint))`;

/**
 * The ledger's recovery, through the shared rebuilder (libs/runtime): the
 * replay projection folded again with the live code into
 * `rebuild_ledger.ledger_replays` and compared with `ledger_replays`
 * (`updated_at` is bookkeeping, not state).
 */
export function ledgerRebuildTarget(): RebuildTarget {
  return {
    service: LEDGER_SERVICE,
    tables: [{ name: 'ledger_replays', ignore: ['updated_at'], changedAfterEnd: CHANGED_AFTER_END }],
    types: REPLAY_PROJECTION_TYPES,
    fold: async (tx, events) => {
      for (const e of events) await applyReplayEvent(tx, e);
    },
  };
}
