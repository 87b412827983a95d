import type { RebuildTarget } from '@steward/runtime';
import type { WorkflowProjection } from './workflow.projection';

/**
 * `steward replay start --rebuild scheduler`: the workflow projection folded
 * again from the workflow events with the live code, and compared. Schedule
 * cursors are written by the fold but not compared: they move with time (each
 * fired occurrence), not only with these events.
 */
export function workflowRebuildTarget(projection: WorkflowProjection): RebuildTarget {
  return {
    service: 'scheduler',
    tables: [{ name: 'scheduler_workflows' }, { name: 'scheduler_workflow_versions' }],
    scratch: ['scheduler_schedules'],
    types: ['workflow.applied', 'workflow.paused', 'workflow.resumed'],
    fold: (tx, events) => projection.project(tx, events),
  };
}
