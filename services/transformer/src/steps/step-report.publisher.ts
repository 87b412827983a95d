import { createHash } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { commandHeaders, type CommandEnvelope } from '@steward/messaging';

export interface Attempt {
  runId: string;
  stepId: string;
  attempt: number;
  queuedAt: string;
}

/**
 * A UUIDv7-shaped command id derived from the attempt and the report kind,
 * so a redelivered step.queued sends the same ids: the COMMANDS stream
 * dedupes them and the executor's inbox ignores repeats (the worker SDK does the same).
 */
export function reportCommandId(a: Attempt, kind: string): string {
  const b = createHash('sha256').update(`transformer:${a.runId}:${a.stepId}:${a.attempt}:${kind}`).digest().subarray(0, 16);
  const ms = Date.parse(a.queuedAt);
  b.writeUIntBE(Number.isFinite(ms) ? ms : 0, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Sends report_step_started / report_step_result to the executor, waiting only for the stream's ack. */
export class StepReportPublisher {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly actor: string,
  ) {
    this.js = jetstream(nc);
  }

  async report(name: 'report_step_started' | 'report_step_result', a: Attempt, payload: Record<string, unknown>, correlationId: string, traceparent?: string): Promise<void> {
    const envelope: CommandEnvelope = {
      commandId: reportCommandId(a, name),
      service: 'executor',
      name,
      payload: { runId: a.runId, stepId: a.stepId, attempt: a.attempt, ...payload },
      actor: this.actor,
      correlationId,
      issuedAt: new Date().toISOString(),
      ...(traceparent !== undefined && { traceparent }),
    };
    await this.js.publish(this.subjects.command('executor', name), new TextEncoder().encode(JSON.stringify(envelope)), { msgID: envelope.commandId, headers: commandHeaders(envelope) });
  }
}
