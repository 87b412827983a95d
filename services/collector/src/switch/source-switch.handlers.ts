import type { Pool } from 'pg';
import type { EventEnvelope } from '@steward/contracts';
import { processOnce, type EventStore } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Logger } from '@steward/observability';
import type { CommandRunner } from '@steward/runtime';
import { DisableSourcePayload, EnableSourcePayload } from './source-switch.schemas';
import type { SourceSwitch } from './source-switch';

/** The collector's commands, announced as `cmd:<name>`. */
export const COLLECTOR_COMMANDS = ['disable_source', 'enable_source'] as const;

/** Durable (and inbox consumer) of `workflow.resumed`, apart from the step.queued one. */
export const WORKFLOWS_CONSUMER = 'collector-workflows';
/** Durable (and inbox consumer) of `operator.action_recorded`: a resume asked for a workflow that was not paused. */
export const OPERATOR_CONSUMER = 'collector-operator';
/** The gateway's action name for `steward workflows resume` (POST /workflows/:id/resume). */
export const RESUME_ACTION = 'workflows.resume';

/**
 * `steward.cmd.collector.disable_source` / `enable_source` through the
 * CommandRunner (inbox by command id, outcome caused by the command: the
 * source event, `command.accepted` when nothing changed, `command.rejected`
 * naming the field at fault), and `workflow.resumed`, which re-enables the
 * workflow's sources an alert's action disabled.
 */
export class SourceSwitchHandlers {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly switches: SourceSwitch,
    private readonly commands: CommandRunner,
    private readonly logger: Logger,
  ) {}

  async disableSource(command: CommandEnvelope): Promise<void> {
    const result = await this.commands.run(command, DisableSourcePayload, (tx, p, metadata) => this.switches.disable(tx, p, metadata));
    this.log('disable_source', command, result.status);
  }

  async enableSource(command: CommandEnvelope): Promise<void> {
    const result = await this.commands.run(command, EnableSourcePayload, (tx, p, metadata) => this.switches.enable(tx, { ...p, trigger: 'command' }, metadata));
    this.log('enable_source', command, result.status);
  }

  async workflowResumed(envelope: EventEnvelope): Promise<void> {
    await this.reenable(WORKFLOWS_CONSUMER, (envelope.data as { id: string }).id, envelope);
  }

  /**
   * `steward workflows resume W` is recorded by the gateway before the
   * scheduler sees it, and the scheduler records no `workflow.resumed` for a
   * workflow that was not paused (an alert that only disabled a source), so
   * the request itself undoes the sources too. When the workflow was paused,
   * whichever of the two comes second finds nothing left to enable.
   */
  async operatorAction(envelope: EventEnvelope): Promise<void> {
    const data = envelope.data as { action: string; target?: Record<string, string> };
    const workflowId = data.target?.workflow;
    if (data.action !== RESUME_ACTION || workflowId === undefined) return;
    await this.reenable(OPERATOR_CONSUMER, workflowId, envelope);
  }

  private async reenable(consumer: string, workflowId: string, cause: EventEnvelope): Promise<void> {
    const once = await processOnce(this.pool, this.store, consumer, cause.id, (tx) => this.switches.onWorkflowResumed(tx, workflowId, cause));
    if (once.status === 'processed' && once.result.length > 0) {
      this.logger.info('sources re-enabled: workflow resumed', { workflow: workflowId, cause: cause.type, sources: once.result.map((e) => (e.data as { source: string }).source) });
    }
  }

  private log(name: string, command: CommandEnvelope, status: string): void {
    const payload = command.payload as { source?: unknown } | null;
    this.logger.info(`${name} handled`, { command_id: command.commandId, actor: command.actor, source: typeof payload?.source === 'string' ? payload.source : undefined, status });
  }
}
