import { IllegalStateError, NotFoundError, type NewEvent } from '@steward/contracts';
import type { WorkflowDefinition } from '@steward/workflow';
import { evolveWorkflow, initialWorkflowState, type WorkflowEvent, type WorkflowState } from './workflow.evolve';

// Applying, pausing and resuming a workflow. Time arrives in the command.
// A command that changes nothing decides nothing (the caller records
// `command.accepted`): re-applying the same file or pausing a paused
// workflow is harmless, which is what a retried CLI call needs.

export interface ApplyWorkflow {
  type: 'ApplyWorkflow';
  definition: WorkflowDefinition;
  hash: string;
  file?: string;
  now: Date;
}

export interface PauseWorkflow {
  type: 'PauseWorkflow';
  id: string;
  reason?: string;
  now: Date;
}

export interface ResumeWorkflow {
  type: 'ResumeWorkflow';
  id: string;
  now: Date;
}

export type WorkflowCommand = ApplyWorkflow | PauseWorkflow | ResumeWorkflow;

export function decideWorkflow(command: WorkflowCommand, state: WorkflowState): NewEvent<WorkflowEvent['data']>[] {
  switch (command.type) {
    case 'ApplyWorkflow': {
      if (state.hash === command.hash) return [];
      const d = command.definition;
      return [
        {
          type: 'workflow.applied',
          data: {
            id: d.id,
            version: state.version + 1,
            hash: command.hash,
            definition: d as unknown as Record<string, unknown>,
            owner: d.owner,
            runbook: d.runbook,
            ...(d.budget !== undefined && { budget: d.budget }),
            ...(d.slo !== undefined && { slo: d.slo }),
            ...(command.file !== undefined && { file: command.file }),
            appliedAt: command.now.toISOString(),
          },
          metadata: { workflowId: d.id },
        },
      ];
    }
    case 'PauseWorkflow':
      if (state.version === 0) throw new NotFoundError('workflow', command.id);
      if (state.paused) return [];
      return [
        {
          type: 'workflow.paused',
          data: { id: command.id, ...(command.reason !== undefined && { reason: command.reason }), pausedAt: command.now.toISOString() },
          metadata: { workflowId: command.id },
        },
      ];
    case 'ResumeWorkflow':
      if (state.version === 0) throw new NotFoundError('workflow', command.id);
      if (!state.paused) return [];
      return [{ type: 'workflow.resumed', data: { id: command.id, resumedAt: command.now.toISOString() }, metadata: { workflowId: command.id } }];
    default: {
      const unknownCommand: never = command;
      throw new IllegalStateError(`unknown workflow command ${(unknownCommand as { type: string }).type}`);
    }
  }
}

/** The `{ initialState, evolve, decide }` shape handleCommand takes. */
export const workflowDecider = {
  initialState: initialWorkflowState,
  evolve: evolveWorkflow,
  decide: decideWorkflow,
};

export const workflowStreamId = (id: string): string => `workflow-${id}`;
