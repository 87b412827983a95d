import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { commandHeaders, type CommandEnvelope } from '@steward/messaging';
import { stepCommandId } from '@steward/worker';
import type { AttemptOutcome } from '../capture/capture.repository';

export interface AttemptIdentity {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
}

interface ReportContext {
  identity: AttemptIdentity;
  queuedAt: string;
  correlationId: string;
  traceparent?: string;
}

/**
 * Reports an attempt to the executor the way a task worker does
 * (docs/execution-contract.md): `report_step_started` then
 * `report_step_result` on `steward.cmd.executor.*`. Command ids are derived
 * from the attempt (stepCommandId), so a redelivered step.queued sends the
 * very same commands, deduped by the COMMANDS stream and the executor's inbox.
 */
export class StepReportPublisher {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly instance: string,
  ) {
    this.js = jetstream(nc);
  }

  started(ctx: ReportContext): Promise<string> {
    const { runId, stepId, attempt } = ctx.identity;
    return this.publish(ctx, 'report_step_started', 'started', { runId, stepId, attempt, workerId: `collector-${this.instance}` });
  }

  result(ctx: ReportContext, outcome: AttemptOutcome, wallMs: number): Promise<string> {
    const { runId, stepId, attempt } = ctx.identity;
    return this.publish(ctx, 'report_step_result', 'result', { runId, stepId, attempt, outcome, usage: { wallMs }, reportedUsage: [] });
  }

  private async publish(ctx: ReportContext, name: string, kind: string, payload: Record<string, unknown>): Promise<string> {
    const envelope: CommandEnvelope = {
      commandId: stepCommandId(ctx.identity, kind, ctx.queuedAt),
      service: 'executor',
      name,
      payload,
      actor: `collector:${this.instance}`,
      correlationId: ctx.correlationId,
      issuedAt: new Date().toISOString(),
      ...(ctx.traceparent !== undefined && { traceparent: ctx.traceparent }),
    };
    // A failed publish throws: the step.queued is nak'd and comes back with the same command ids.
    await this.js.publish(this.subjects.command('executor', name), new TextEncoder().encode(JSON.stringify(envelope)), { msgID: envelope.commandId, headers: commandHeaders(envelope) });
    return envelope.commandId;
  }
}
