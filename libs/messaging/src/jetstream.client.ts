import { jetstream, type JetStreamClient as NatsJetStreamClient, type PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { ValidationError, type EventEnvelope, type EventRegistry, type Subjects } from '@steward/contracts';
import { CommandBus, type SendCommandOptions } from './command.bus';
import { COMMAND_PATTERN_PREFIX } from './command.envelope';
import { publishEvent } from './event.publisher';
import type { Logger } from './json.logger';
import { connectNats } from './nats.connection';

export interface JetStreamClientOptions {
  natsUrl?: string;
  /** Use this connection instead of opening one; it is then not drained on close(). */
  connection?: NatsConnection;
  subjects: Subjects;
  /** Gives events their route token (last subject token). */
  registry?: EventRegistry;
  name?: string;
  logger?: Logger;
  commandTimeoutMs?: number;
}

/** `send('cmd:<service>.<name>', payload)` or `send({ cmd: '<service>.<name>', ...options }, payload)`. */
export type CommandPattern = string | ({ cmd: string } & SendCommandOptions);

/**
 * Nest ClientProxy over JetStream, the counterpart of JetStreamServer:
 * `emit(type, envelope)` publishes an event (resolves with the PubAck),
 * `send('cmd:<service>.<name>', payload)` sends a command and emits its
 * CommandOutcome once (completed, rejected, or pending after the timeout).
 */
export class JetStreamClient extends ClientProxy {
  private nc: NatsConnection | undefined;
  private js: NatsJetStreamClient | undefined;
  private bus: CommandBus | undefined;
  private connecting: Promise<NatsConnection> | undefined;

  constructor(private readonly options: JetStreamClientOptions) {
    super();
    if (!options.natsUrl && !options.connection) throw new Error('JetStreamClient needs natsUrl or connection');
  }

  connect(): Promise<NatsConnection> {
    this.connecting ??= (async () => {
      const nc = this.options.connection ?? (await connectNats(this.options.natsUrl!, this.options.name ?? 'steward-client'));
      this.nc = nc;
      this.js = jetstream(nc);
      this.bus = new CommandBus(nc, this.options.subjects, {
        ...(this.options.logger && { logger: this.options.logger }),
        ...(this.options.commandTimeoutMs !== undefined && { defaultTimeoutMs: this.options.commandTimeoutMs }),
      });
      this._status$.next('connected');
      return nc;
    })();
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    await this.bus?.close();
    if (this.nc && !this.nc.isClosed() && !this.options.connection) await this.nc.drain();
    this.nc = undefined;
    this.connecting = undefined;
    this._status$.next('disconnected');
  }

  unwrap<T>(): T {
    if (!this.nc) throw new Error('Not connected. Call connect() first.');
    return this.nc as T;
  }

  /** The command channel of this client's connection. */
  async commands(): Promise<CommandBus> {
    await this.connect();
    return this.bus!;
  }

  protected async dispatchEvent<T = PubAck>(packet: ReadPacket<EventEnvelope>): Promise<T> {
    const envelope = packet.data;
    if (packet.pattern !== envelope?.type) {
      throw new ValidationError(`emit pattern "${String(packet.pattern)}" differs from the envelope type "${String(envelope?.type)}"`, [
        { path: 'type', message: 'must equal the emit pattern' },
      ]);
    }
    await this.connect();
    return (await publishEvent(this.js!, this.options.subjects, envelope, this.options.registry)) as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = packet.pattern as CommandPattern;
    const { cmd, ...opts } = typeof pattern === 'string' ? { cmd: pattern.startsWith(COMMAND_PATTERN_PREFIX) ? pattern.slice(COMMAND_PATTERN_PREFIX.length) : '' } : pattern;
    const dot = cmd.indexOf('.');
    if (dot <= 0) {
      callback({ err: new ValidationError(`command pattern must be "cmd:<service>.<name>", got ${JSON.stringify(pattern)}`), isDisposed: true });
      return () => {};
    }
    // A command cannot be unsent once published; unsubscribing only stops waiting.
    this.commands()
      .then((bus) => bus.send(cmd.slice(0, dot), cmd.slice(dot + 1), packet.data, opts))
      .then((response) => callback({ response, isDisposed: true }))
      .catch((err: unknown) => callback({ err, isDisposed: true }));
    return () => {};
  }
}
