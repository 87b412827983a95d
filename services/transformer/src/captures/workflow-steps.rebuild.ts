import type { EventData, WorkflowApplied } from '@steward/contracts';
import type { RebuildTarget } from '@steward/runtime';
import { projectWorkflowApplied } from './workflow-steps.projector';

/**
 * `steward replay start --rebuild transformer`: which transform follows which
 * collect step, folded again from `workflow.applied` with the live code and
 * compared. Dataset rows are not part of it: they are rebuilt the data
 * engineer's way, by a backfill of the captures through the same transform
 * version into a new dataset version and `steward replay diff` against the
 * live one (docs/replays.md).
 */
export function workflowStepsRebuildTarget(): RebuildTarget {
  return {
    service: 'transformer',
    tables: [{ name: 'transformer_workflow_steps' }],
    types: ['workflow.applied'],
    fold: async (tx, events) => {
      for (const e of events) await projectWorkflowApplied(tx, e.data as EventData<typeof WorkflowApplied>);
    },
  };
}
