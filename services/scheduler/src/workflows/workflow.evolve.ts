import type { StoredEvent } from '@steward/contracts';
import { WorkflowApplied, WorkflowPaused, WorkflowResumed, type EventData } from '@steward/contracts';
import type { WorkflowDefinition } from '@steward/workflow';

// The workflow aggregate (stream `workflow-<id>`): its versions and whether it is paused.

export type WorkflowEvent =
  | { type: typeof WorkflowApplied.type; data: EventData<typeof WorkflowApplied> }
  | { type: typeof WorkflowPaused.type; data: EventData<typeof WorkflowPaused> }
  | { type: typeof WorkflowResumed.type; data: EventData<typeof WorkflowResumed> };

export interface WorkflowState {
  /** 0 before the first apply. */
  version: number;
  hash?: string;
  definition?: WorkflowDefinition;
  paused: boolean;
}

export const initialWorkflowState = (): WorkflowState => ({ version: 0, paused: false });

export function evolveWorkflow(state: WorkflowState, event: StoredEvent<WorkflowEvent['data']>): WorkflowState {
  const e = { type: event.type, data: event.data } as WorkflowEvent;
  switch (e.type) {
    case 'workflow.applied':
      return { ...state, version: e.data.version, hash: e.data.hash, definition: e.data.definition as unknown as WorkflowDefinition };
    case 'workflow.paused':
      return { ...state, paused: true };
    case 'workflow.resumed':
      return { ...state, paused: false };
    default: {
      const unknownType: never = e;
      return unknownType;
    }
  }
}
