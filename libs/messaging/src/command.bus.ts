import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { CommandRejected, Headers, uuidv7, type EventEnvelope, type Subjects, type ValidationIssue } from '@steward/contracts';
import { commandHeaders, type CommandEnvelope } from './command.envelope';
import { decodeEnvelope, encodeJson } from './envelope.codec';
import { activeTraceparent } from './message.tracing';
import { createJsonLogger, type Logger } from './json.logger';

export interface SendCommandOptions {
  /** Idempotency key and Nats-Msg-Id; a retry with the same id is dropped by the stream. */
  commandId?: string;
  actor?: string;
  correlationId?: string;
  /** Default: the active span's, so the owning service continues the caller's trace. */
  traceparent?: string;
  /** How long to wait for the outcome event before answering `pending`. */
  timeoutMs?: number;
}

export type CommandOutcome =
  | { status: 'completed'; commandId: string; events: EventEnvelope[]; duplicate: boolean }
  | { status: 'rejected'; commandId: string; reason: string; code: string; issues: ValidationIssue[]; event: EventEnvelope; duplicate: boolean }
  | { status: 'pending'; commandId: string; duplicate: boolean };

interface Waiter {
  resolve: (event: EventEnvelope) => void;
}

export interface CommandBusOptions {
  logger?: Logger;
  defaultTimeoutMs?: number;
  /**
   * How long the subscription to every event stays open after the last
   * awaited command settled (ms; default 10 s): a gateway that sends a
   * command now and then does not receive every event of the system in
   * between.
   */
  idleUnsubscribeMs?: number;
}

/**
 * Sends commands on the COMMANDS work queue and waits for their outcome: the
 * first event whose causation id is the command id (the owning service
 * records it, the ledger relay publishes it). One core subscription on all
 * events serves every pending command; it matches on the header so most
 * events are dropped without parsing their body. It is open only while
 * commands are awaited (and `idleUnsubscribeMs` after).
 */
export class CommandBus {
  private readonly js: JetStreamClient;
  private readonly log: Logger;
  private readonly waiters = new Map<string, Waiter>();
  private sub: Subscription | undefined;
  private ready: Promise<void> | undefined;
  /** Sends between their start and their outcome: the subscription stays while any is in flight. */
  private inFlight = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly options: CommandBusOptions = {},
  ) {
    this.js = jetstream(nc);
    this.log = options.logger ?? createJsonLogger();
  }

  async send(service: string, name: string, payload: unknown, options: SendCommandOptions = {}): Promise<CommandOutcome> {
    const command = envelopeOf(service, name, payload, options);
    const { commandId } = command;
    if (this.waiters.has(commandId)) throw new Error(`command ${commandId} is already awaited`);
    this.inFlight++;
    clearTimeout(this.idle);
    try {
      return await this.sendAndWait(command, options);
    } finally {
      if (--this.inFlight === 0) this.unsubscribeWhenIdle();
    }
  }

  private async sendAndWait(command: CommandEnvelope, options: SendCommandOptions): Promise<CommandOutcome> {
    const { commandId } = command;
    // Subscribe before publishing: an outcome that beats the publish ack is still seen.
    await this.subscribe();
    const outcome = new Promise<EventEnvelope>((resolve) => this.waiters.set(commandId, { resolve }));
    let duplicate: boolean;
    try {
      duplicate = await this.publish(command);
    } catch (err) {
      this.waiters.delete(commandId);
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), options.timeoutMs ?? this.options.defaultTimeoutMs ?? 5_000);
    });
    try {
      const event = await Promise.race([outcome, timeout]);
      if (event === undefined) return { status: 'pending', commandId, duplicate };
      return toOutcome(commandId, event, duplicate);
    } finally {
      clearTimeout(timer);
      this.waiters.delete(commandId);
    }
  }

  /**
   * Sends without waiting for the outcome: resolves once the COMMANDS stream
   * stored the command. For callers that learn what came of it otherwise
   * (the events it causes, `command.rejected` by causation id), at rates
   * where the outcome subscription, which receives every event, would cost
   * more than the commands.
   */
  async post(service: string, name: string, payload: unknown, options: Omit<SendCommandOptions, 'timeoutMs'> = {}): Promise<{ commandId: string; duplicate: boolean }> {
    const command = envelopeOf(service, name, payload, options);
    return { commandId: command.commandId, duplicate: await this.publish(command) };
  }

  private async publish(command: CommandEnvelope): Promise<boolean> {
    const ack = await this.js.publish(this.subjects.command(command.service, command.name), encodeJson(command), {
      msgID: command.commandId,
      headers: commandHeaders(command),
    });
    return ack.duplicate;
  }

  /** Stops listening; callers still waiting get `pending` when their timeout fires. */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    this.unsubscribe();
  }

  /** Whether the subscription to every event is open (diagnostics, tests). */
  get listening(): boolean {
    return this.sub !== undefined;
  }

  private unsubscribeWhenIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.inFlight === 0) this.unsubscribe();
    }, this.options.idleUnsubscribeMs ?? 10_000);
    this.idle.unref();
  }

  private unsubscribe(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.ready = undefined;
  }

  private subscribe(): Promise<void> {
    this.ready ??= (async () => {
      this.sub = this.nc.subscribe(this.subjects.events(), { callback: (err, msg) => this.onEvent(err, msg) });
      // The SUB must reach the server before our first PUB; flush guarantees it.
      await this.nc.flush();
    })();
    return this.ready;
  }

  private onEvent(err: Error | null, msg: Msg): void {
    if (err) {
      this.log.error('command outcome subscription failed', { err });
      return;
    }
    const causation = msg.headers?.has(Headers.CausationId) ? msg.headers.get(Headers.CausationId) : undefined;
    const waiter = causation === undefined ? undefined : this.waiters.get(causation);
    if (!waiter) return;
    try {
      waiter.resolve(decodeEnvelope(msg));
    } catch (decodeErr) {
      this.log.warn('ignoring an undecodable outcome event', { commandId: causation, subject: msg.subject, err: decodeErr });
    }
  }
}

function envelopeOf(service: string, name: string, payload: unknown, options: Omit<SendCommandOptions, 'timeoutMs'>): CommandEnvelope {
  const commandId = options.commandId ?? uuidv7();
  const traceparent = options.traceparent ?? activeTraceparent();
  return {
    commandId,
    service,
    name,
    payload,
    ...(options.actor !== undefined && { actor: options.actor }),
    correlationId: options.correlationId ?? commandId,
    issuedAt: new Date().toISOString(),
    ...(traceparent !== undefined && { traceparent }),
  };
}

function toOutcome(commandId: string, event: EventEnvelope, duplicate: boolean): CommandOutcome {
  if (event.type !== CommandRejected.type) return { status: 'completed', commandId, events: [event], duplicate };
  const parsed = CommandRejected.schema.safeParse(event.data);
  const data = parsed.success ? parsed.data : undefined;
  return {
    status: 'rejected',
    commandId,
    reason: data?.reason ?? 'rejected',
    code: data?.code ?? 'unknown',
    issues: data?.issues ?? [],
    event,
    duplicate,
  };
}
