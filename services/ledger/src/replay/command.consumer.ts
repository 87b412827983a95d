import { jetstream, type Consumer, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { decodeCommand, provisionConsumer } from '@steward/messaging';
import type { Logger, Metrics } from '@steward/observability';
import { LEDGER_COMMAND_CONSUMER, type ReplayCommands } from './replay.commands';

export interface CommandConsumerOptions {
  /** How long one pull waits for commands (>= 1000 ms, the client's minimum). */
  fetchExpiresMs: number;
  ackWaitMs: number;
  maxDeliver: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Pulls `steward.cmd.ledger.>` from the COMMANDS work queue (durable
 * `ledger-cmd`) and runs each command through ReplayCommands. Commands are
 * rare and short, so one at a time. Acked after the outcome committed; a
 * failure that is not the command's fault is nak'ed and retried.
 */
export class LedgerCommandConsumer {
  private stopping = false;
  private loop?: Promise<void>;
  private abort?: () => void;
  private ready = false;
  private readonly m;

  constructor(
    private readonly deps: { nc: NatsConnection; jsm: JetStreamManager; subjects: Subjects; commands: ReplayCommands; logger: Logger; metrics: Metrics; onStarted?: () => void },
    private readonly options: CommandConsumerOptions,
  ) {
    this.m = {
      handled: deps.metrics.counter('steward_ledger_commands_total', 'Commands the ledger handled, by outcome', ['outcome']),
    };
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.stopping = false;
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort?.();
    await this.loop;
    this.loop = undefined;
    this.ready = false;
  }

  private async bind(): Promise<Consumer> {
    const stream = this.deps.subjects.stream('COMMANDS');
    await provisionConsumer(
      this.deps.jsm,
      stream,
      {
        durable_name: LEDGER_COMMAND_CONSUMER,
        filter_subject: this.deps.subjects.commands('ledger'),
        ack_wait: this.options.ackWaitMs * 1_000_000,
        max_deliver: this.options.maxDeliver,
      },
      this.deps.logger,
    );
    return jetstream(this.deps.nc).consumers.get(stream, LEDGER_COMMAND_CONSUMER);
  }

  private async run(): Promise<void> {
    let consumer: Consumer | undefined;
    let backoff = 200;
    while (!this.stopping) {
      try {
        consumer ??= await this.bind();
        this.ready = true;
        const batch = await consumer.fetch({ max_messages: 8, expires: this.options.fetchExpiresMs });
        this.abort = () => void batch.close();
        for await (const msg of batch) {
          await this.process(msg);
        }
        this.abort = undefined;
        backoff = 200;
      } catch (err) {
        if (this.stopping) break;
        this.ready = false;
        consumer = undefined;
        this.deps.logger.warn('ledger command fetch failed; retrying', { err, backoff_ms: backoff });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async process(msg: JsMsg): Promise<void> {
    let command;
    try {
      command = decodeCommand(msg);
    } catch (err) {
      // Nothing to answer: without a command id no one waits for an outcome.
      this.deps.logger.error('dropping an undecodable command', { err, subject: msg.subject });
      this.m.handled.inc({ outcome: 'undecodable' });
      msg.term();
      return;
    }
    try {
      const result = await this.deps.commands.handle(command);
      this.m.handled.inc({ outcome: result.status });
      if (result.status === 'recorded') this.deps.onStarted?.();
      if (result.status === 'rejected') this.deps.logger.info('command rejected', { command: command.name, commandId: command.commandId, reason: result.reason });
      msg.ack();
    } catch (err) {
      this.m.handled.inc({ outcome: 'error' });
      this.deps.logger.error('command failed; will be redelivered', { err, command: command.name, commandId: command.commandId, delivery: msg.info.deliveryCount });
      msg.nak(Math.min(1000 * 2 ** Math.min(msg.info.deliveryCount, 5), 30_000));
    }
  }
}
