import type { StoredEvent } from '@steward/contracts';
import { handleCommand, type EventStore, type Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { hashWorkflow, parseWorkflow } from '@steward/workflow';
import type { Clock } from '../clock';
import type { TriggerConsumers } from '../triggers/trigger.consumers';
import { commandMetadata, type CommandOutcomes } from '../commands/command.outcome';
import { ApplyWorkflowPayload, parsePayload, WorkflowRefPayload } from '../commands/command.payloads';
import { workflowDecider, workflowStreamId, type WorkflowCommand } from './workflow.decide';
import type { WorkflowProjection } from './workflow.projection';

/** apply_workflow, pause_workflow, resume_workflow: validate, decide on the workflow stream, project. */
export class WorkflowService {
  constructor(
    private readonly store: EventStore,
    private readonly outcomes: CommandOutcomes,
    private readonly projection: WorkflowProjection,
    private readonly triggers: Pick<TriggerConsumers, 'prepare' | 'refresh'>,
    private readonly clock: Clock,
  ) {}

  async apply(cmd: CommandEnvelope): Promise<void> {
    let triggerOn: string | undefined;
    await this.outcomes.handle(cmd, async (tx) => {
      const { yaml, file } = parsePayload(ApplyWorkflowPayload, cmd.payload, 'apply_workflow');
      // Throws ONE ValidationError naming every problem: the command is rejected and nothing changes.
      const definition = parseWorkflow(yaml, file);
      if (definition.schedule?.kind === 'event') {
        // Before the workflow.applied event is appended, so every event stored after it reaches the trigger's durable.
        triggerOn = definition.schedule.on;
        await this.triggers.prepare(triggerOn);
      }
      const command: WorkflowCommand = { type: 'ApplyWorkflow', definition, hash: hashWorkflow(definition), ...(file !== undefined && { file }), now: this.clock.now() };
      return this.decide(tx, cmd, definition.id, command);
    });
    // Committed: this replica takes the new type's events now, the others at their next refresh.
    if (triggerOn !== undefined) await this.triggers.refresh();
  }

  pause(cmd: CommandEnvelope): Promise<void> {
    return this.outcomes.handle(cmd, async (tx) => {
      const { id, reason } = parsePayload(WorkflowRefPayload, cmd.payload, 'pause_workflow');
      return this.decide(tx, cmd, id, { type: 'PauseWorkflow', id, ...(reason !== undefined && { reason }), now: this.clock.now() });
    });
  }

  resume(cmd: CommandEnvelope): Promise<void> {
    return this.outcomes.handle(cmd, async (tx) => {
      const { id } = parsePayload(WorkflowRefPayload, cmd.payload, 'resume_workflow');
      return this.decide(tx, cmd, id, { type: 'ResumeWorkflow', id, now: this.clock.now() });
    });
  }

  private async decide(tx: Queryable, cmd: CommandEnvelope, id: string, command: WorkflowCommand): Promise<StoredEvent[]> {
    const result = await handleCommand(this.store, workflowStreamId(id), workflowDecider, command, {
      tx,
      metadata: commandMetadata(cmd, { workflowId: id }),
    });
    await this.projection.project(tx, result.events);
    return result.events;
  }
}
