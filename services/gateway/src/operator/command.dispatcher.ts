import {
  ForbiddenError,
  IllegalStateError,
  OperatorActionRecorded,
  StewardError,
  UnavailableError,
  uuidv7,
  ValidationError,
  type EventData,
  type EventMetadata,
} from '@steward/contracts';
import type { EventStore } from '@steward/event-store';
import type { CommandBus, CommandOutcome } from '@steward/messaging';
import type { Principal } from '../auth/roles.decorator';
import { HttpReply } from '../http/http-reply';
import type { ServiceDirectory } from '../presence/service.directory';

/** What an operator asked for, before it becomes a command on `steward.cmd.<service>.<command>`. */
export interface OperatorCommand {
  service: string;
  /** Subject token: `cancel_run`. */
  command: string;
  /** For the audit trail: `runs.cancel`. */
  action: string;
  payload: Record<string, unknown>;
  /** The ids the command is about; `run` and `workflow` also land in the audit event's metadata, so timelines show it. */
  target?: Record<string, string>;
  reason?: string;
}

export interface DispatcherOptions {
  timeoutMs: number;
}

/**
 * Sends operator commands to the service that owns them and turns the
 * outcome into an HTTP answer: the outcome event's data (200), the
 * rejection as the matching error (400/404/409), or 202 pending with the
 * command id when the service took longer than the timeout. A service that
 * is not running is a 503 naming it, before anything is recorded or queued:
 * a command nobody takes would sit in the work queue and surprise someone
 * days later.
 */
export class CommandDispatcher {
  constructor(
    private readonly store: EventStore,
    private readonly bus: CommandBus,
    private readonly directory: ServiceDirectory,
    private readonly options: DispatcherOptions,
  ) {}

  async dispatch(command: OperatorCommand, caller: Principal): Promise<HttpReply> {
    await this.requireHandler(command);
    const commandId = uuidv7();
    await this.record(command, commandId, caller);
    const payload = { ...command.payload, ...(command.reason !== undefined && { reason: command.reason }) };
    let outcome: CommandOutcome;
    try {
      outcome = await this.bus.send(command.service, command.command, payload, {
        commandId,
        actor: caller.name,
        correlationId: commandId,
        timeoutMs: this.options.timeoutMs,
      });
    } catch (err) {
      throw new UnavailableError(`could not queue the command for ${command.service}: ${err instanceof Error ? err.message : String(err)}`, { service: command.service, commandId }, { cause: err });
    }
    return toReply(outcome, command.service);
  }

  /**
   * Running is not enough: the service must announce `cmd:<name>` in its
   * presence capabilities, or a command it has no handler for would wait in
   * the work queue and run days later when a newer version appears.
   */
  private async requireHandler(command: OperatorCommand): Promise<void> {
    const instances = (await this.directory.list()).filter((i) => i.service === command.service);
    if (instances.length === 0) {
      throw new UnavailableError(`the ${command.service} service is not running`, { service: command.service });
    }
    if (!instances.some((i) => i.capabilities.includes(`cmd:${command.command}`))) {
      throw new UnavailableError(`the ${command.service} service is running but does not handle ${command.command} yet`, {
        service: command.service,
        command: command.command,
      });
    }
  }

  /** The audit record comes first: the request is on the timeline even if the service never answers. */
  private async record(command: OperatorCommand, commandId: string, caller: Principal): Promise<void> {
    const data: EventData<typeof OperatorActionRecorded> = {
      action: command.action,
      service: command.service,
      command: command.command,
      commandId,
      ...(command.target && { target: command.target }),
      ...(command.reason !== undefined && { reason: command.reason }),
    };
    const metadata: EventMetadata = {
      actor: caller.name,
      correlationId: commandId,
      ...(command.target?.run !== undefined && { runId: command.target.run }),
      ...(command.target?.workflow !== undefined && { workflowId: command.target.workflow }),
    };
    await this.store.append(`operator-action-${commandId}`, [{ type: OperatorActionRecorded.type, data, metadata }], { expected: 'no_stream' });
  }
}

function toReply(outcome: CommandOutcome, service: string): HttpReply {
  switch (outcome.status) {
    case 'pending':
      return new HttpReply(202, { status: 'pending', commandId: outcome.commandId, service });
    case 'completed': {
      const event = outcome.events[0]!;
      const data = event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : { result: event.data };
      return new HttpReply(200, { ...data, commandId: outcome.commandId, event: { id: event.id, type: event.type, streamId: event.streamid } });
    }
    case 'rejected':
      throw rejection(outcome, service);
  }
}

function rejection(outcome: Extract<CommandOutcome, { status: 'rejected' }>, service: string): StewardError {
  const context = { service, commandId: outcome.commandId };
  switch (outcome.code) {
    case 'validation':
      return new ValidationError(outcome.reason, outcome.issues, context);
    case 'not_found':
      return new StewardError('not_found', outcome.reason, context);
    case 'forbidden':
      return new ForbiddenError(outcome.reason, context);
    case 'concurrency':
      return new StewardError('concurrency', outcome.reason, context);
    default:
      return new IllegalStateError(outcome.reason, { ...context, code: outcome.code });
  }
}
