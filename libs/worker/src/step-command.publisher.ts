import { createHash } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { commandHeaders, type CommandEnvelope } from '@steward/messaging';
import type { AttemptIdentity } from './task.protocol';

export type StepCommandName = 'report_step_started' | 'heartbeat_step' | 'report_step_result';

/**
 * The command id of one report about one attempt: a UUIDv7 (what the command
 * envelope requires) whose every bit is derived from
 * `<runId>:<stepId>:<attempt>:<kind>` and the attempt's queued time. A
 * redelivered `step.queued` therefore produces the same ids, which the
 * COMMANDS stream dedupes (Nats-Msg-Id) and the executor's inbox ignores,
 * so two deliveries of one attempt can never report conflicting results.
 */
export function stepCommandId(identity: AttemptIdentity, kind: string, queuedAt: string): string {
  const key = `${identity.runId}:${identity.stepId}:${identity.attempt}:${kind}`;
  const b = createHash('sha256').update(key).digest().subarray(0, 16);
  const ms = Date.parse(queuedAt);
  b.writeUIntBE(Number.isFinite(ms) ? ms : 0, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface StepCommand {
  name: StepCommandName;
  /** Distinguishes the report; heartbeats add a sequence number. */
  kind: string;
  identity: AttemptIdentity;
  queuedAt: string;
  payload: Record<string, unknown>;
  correlationId: string;
  traceparent?: string;
}

/**
 * Sends the worker's reports to the executor, fire-and-forget once the
 * COMMANDS stream has stored them. CommandBus.send would also wait for the
 * outcome event through a subscription to every event; a worker has no use
 * for the outcome (a rejected stale result needs no reaction), so it only
 * waits for the stream's ack.
 */
export class StepCommandPublisher {
  private readonly js: JetStreamClient;

  constructor(
    nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly actor: string,
    private readonly retries = 3,
  ) {
    this.js = jetstream(nc);
  }

  async publish(command: StepCommand): Promise<string> {
    const envelope: CommandEnvelope = {
      commandId: stepCommandId(command.identity, command.kind, command.queuedAt),
      service: 'executor',
      name: command.name,
      payload: command.payload,
      actor: this.actor,
      correlationId: command.correlationId,
      issuedAt: new Date().toISOString(),
      ...(command.traceparent !== undefined && { traceparent: command.traceparent }),
    };
    const data = new TextEncoder().encode(JSON.stringify(envelope));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.js.publish(this.subjects.command('executor', command.name), data, { msgID: envelope.commandId, headers: commandHeaders(envelope) });
        return envelope.commandId;
      } catch (err) {
        // The same id makes a retry safe; after the last one the step.queued message is nak'd and comes back.
        if (attempt >= this.retries) throw err;
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
