import { uuidv7, type EventMetadata } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { AlertEngine } from './alert.engine';
import type { AlertRow, Condition } from './alert.model';

/**
 * Automated first response. The action is an event caused by the alert
 * (alert.action_taken); a command for another service goes into the outbox
 * in the same transaction and is sent after commit with a fixed command id,
 * so a crash between commit and send re-sends the same command, which the
 * work queue dedupes. `steward workflows resume` undoes a pause.
 */
export class ActionService {
  constructor(private readonly engine: () => AlertEngine) {}

  async take(tx: Queryable, a: AlertRow, c: Condition, now: Date, metadata: EventMetadata): Promise<void> {
    const action = c.action;
    if (action === undefined) return;
    const reason = `alert ${a.alertId} (${a.rule}): ${a.summary ?? ''}`.slice(0, 1000);
    let command: { service: string; name: string; commandId: string; payload: Record<string, unknown> } | undefined;
    switch (action.type) {
      case 'pause_workflow':
        if (a.workflowId === null) return;
        command = { service: 'scheduler', name: 'pause_workflow', commandId: uuidv7(), payload: { workflowId: a.workflowId, reason } };
        break;
      case 'disable_source':
        command = { service: 'collector', name: 'disable_source', commandId: uuidv7(), payload: { source: action.source, reason } };
        break;
      case 'scale_up':
        break;
      default: {
        const unknown: never = action;
        throw new Error(`unknown action ${JSON.stringify(unknown)}`);
      }
    }
    await this.engine().appendTo(
      tx,
      a.alertId,
      [
        {
          type: 'alert.action_taken',
          data: {
            alertId: a.alertId,
            rule: a.rule,
            action: action.type,
            ...(a.workflowId !== null && { workflowId: a.workflowId }),
            ...(action.type === 'disable_source' && { source: action.source }),
            ...(command !== undefined && { command: { service: command.service, name: command.name, commandId: command.commandId } }),
            reason: action.type === 'scale_up' ? `scale up ${action.service}: ${reason}`.slice(0, 1000) : reason,
            at: now.toISOString(),
          },
        },
      ],
      metadata,
    );
    if (command !== undefined) {
      await tx.query(`INSERT INTO alerter_outbox_commands (command_id, service, name, payload, correlation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
        command.commandId,
        command.service,
        command.name,
        JSON.stringify(command.payload),
        a.alertId,
        now,
      ]);
    }
  }
}
