import type { StoredEvent } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { WorkflowDefinition } from '@steward/workflow';
import { isTimedSchedule, nextDueAt } from '../schedules/occurrence.decide';
import type { ScheduleRepository } from '../schedules/schedule.repository';
import type { WorkflowEvent } from './workflow.evolve';
import type { WorkflowRepository } from './workflow.repository';

/**
 * Keeps scheduler_workflows and scheduler_schedules in step with the
 * workflow streams, in the transaction that appended the events. Reads
 * only the events, so replaying a stream rebuilds the same rows.
 */
export class WorkflowProjection {
  constructor(
    private readonly workflows: WorkflowRepository,
    private readonly schedules: ScheduleRepository,
  ) {}

  async project(tx: Queryable, events: StoredEvent[]): Promise<void> {
    for (const stored of events) await this.projectOne(tx, stored);
  }

  private async projectOne(tx: Queryable, stored: StoredEvent): Promise<void> {
    const e = { type: stored.type, data: stored.data } as WorkflowEvent;
    switch (e.type) {
      case 'workflow.applied': {
        const definition = e.data.definition as unknown as WorkflowDefinition;
        const appliedAt = new Date(e.data.appliedAt);
        await this.workflows.saveApplied(tx, {
          id: e.data.id,
          version: e.data.version,
          hash: e.data.hash,
          definition,
          owner: e.data.owner,
          runbook: e.data.runbook,
          ...(e.data.file !== undefined && { file: e.data.file }),
          appliedAt,
          ...(stored.metadata.actor !== undefined && { appliedBy: stored.metadata.actor }),
          streamVersion: stored.streamVersion,
          triggerOn: definition.schedule?.kind === 'event' ? definition.schedule.on : null,
          position: stored.globalPosition,
        });
        await this.scheduleFor(tx, e.data.id, definition, appliedAt);
        return;
      }
      case 'workflow.paused':
        return this.workflows.setPaused(tx, e.data.id, true, stored.streamVersion, new Date(e.data.pausedAt));
      case 'workflow.resumed':
        // The cursor stayed where the pause left it: occurrences missed while paused follow the catchup policy.
        return this.workflows.setPaused(tx, e.data.id, false, stored.streamVersion, new Date(e.data.resumedAt));
      default: {
        const unknownType: never = e;
        return unknownType;
      }
    }
  }

  /**
   * A new schedule starts at the apply: nothing before it counts as missed.
   * A changed schedule keeps the cursor, so nothing between the old
   * schedule's last occurrence and now is fired twice or lost.
   */
  private async scheduleFor(tx: Queryable, workflowId: string, definition: WorkflowDefinition, appliedAt: Date): Promise<void> {
    const schedule = definition.schedule;
    if (!isTimedSchedule(schedule)) return this.schedules.remove(tx, workflowId);
    const cursor = (await this.schedules.lockCursor(tx, workflowId)) ?? appliedAt;
    await this.schedules.save(tx, workflowId, cursor, nextDueAt(workflowId, schedule, cursor));
  }
}
