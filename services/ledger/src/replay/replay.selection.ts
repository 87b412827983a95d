import type { ReplaySelection } from '@steward/contracts';
import type { EventSelection } from '@steward/event-store';

/**
 * The store query behind a replay's recorded selection. A backfill's time
 * range is the captures' own time (`capturedAt`: when the source was
 * fetched); a rebuild's is when events were stored.
 */
export function storeSelection(kind: 'backfill' | 'rebuild', s: ReplaySelection): EventSelection {
  return {
    types: s.types,
    ...(s.source !== undefined && { source: s.source }),
    ...(s.workflowId !== undefined && { workflowId: s.workflowId }),
    ...(s.from !== undefined && { from: new Date(s.from) }),
    ...(s.to !== undefined && { to: new Date(s.to) }),
    ...(kind === 'backfill' && { timeField: 'capturedAt' }),
  };
}
