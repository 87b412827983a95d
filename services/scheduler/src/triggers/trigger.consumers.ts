import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { MessageHandler } from '@nestjs/microservices';
import type { EventEnvelope, EventRegistry, Subjects } from '@steward/contracts';
import { JetStreamServer, removeRetiredConsumer, type JetStreamServerOptions } from '@steward/messaging';
import type { Logger, Metrics } from '@steward/observability';
import type { Pool } from 'pg';
import type { WorkflowRepository } from '../workflows/workflow.repository';

const PREFIX = 'scheduler-on-';

/** One durable per triggering type; event types have no `-`, so the name maps back to one type. */
export const triggerDurable = (type: string): string => `${PREFIX}${type.replace('.', '-')}`;

const typeOfDurable = (name: string): string | undefined => (name.startsWith(PREFIX) ? name.slice(PREFIX.length).replace('-', '.') : undefined);

const ACK_WAIT_MS = 30_000;

/**
 * The durable over every event that scheduler versions before per-type
 * durables used. Nothing binds it now; left in place its backlog would only
 * grow (and raise the alerter's consumer-lag alert), so the scheduler removes
 * it at start. An older replica still running during a rolling upgrade
 * re-creates it and the next start removes it again; the inbox makes any
 * redelivery harmless.
 */
export const LEGACY_DURABLE = 'scheduler';
const MAX_DELIVER = 5;

/**
 * The transport of one trigger durable: every registered type it delivers
 * goes to the trigger service, except the types the scheduler handles
 * itself (timer requests and cancellations come through their own
 * durables and never triggered runs).
 */
class TriggerJetStreamServer extends JetStreamServer {
  private readonly handler: MessageHandler;

  constructor(
    options: JetStreamServerOptions,
    private readonly handles: (type: string) => boolean,
    handle: (event: EventEnvelope) => Promise<void>,
  ) {
    super(options);
    this.handler = ((data: EventEnvelope) => handle(data)) as MessageHandler;
    this.handler.isEventHandler = true;
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.handles(pattern) ? this.handler : null;
  }
}

export interface TriggerConsumersOptions {
  nc: NatsConnection;
  subjects: Subjects;
  /** The routing registry of the scheduler's event consumers (payloads validated once a trigger names their type). */
  registry: EventRegistry;
  /** Types with a handler of their own, which no trigger durable takes. */
  handled: ReadonlySet<string>;
  pool: Pool;
  workflows: WorkflowRepository;
  logger: Logger;
  metrics: Metrics;
  concurrency: number;
  /** How often each replica looks for trigger types applied elsewhere (another replica, a rebuild). */
  refreshMs: number;
  onEvent(event: EventEnvelope): Promise<void>;
}

/**
 * The scheduler's `on:` trigger consumers: one durable per event type an
 * applied workflow names, instead of one durable over every event (NATS
 * 2.9 allows one filter subject per consumer, and nearly every event
 * triggered nothing).
 *
 * No event stored after an apply may be missed, so a new type's durable is
 * created (`prepare`, at the stream's end) before the workflow.applied event
 * is appended: every event stored after it is published after the durable
 * exists. Every replica binds the durables of the types in
 * scheduler_workflows at start and every `refreshMs`, and the replica that
 * applied binds at once after the commit; until a replica binds, the
 * durable keeps the events. A type in the table with no durable (applied by
 * an older version, a rebuild, a deleted consumer) gets one that starts at
 * the stream's beginning: events before the apply are then delivered too,
 * and the trigger's position check and the deterministic trigger stream
 * make that harmless. Durables whose type no workflow names (any more, or
 * an apply that failed after `prepare`) are bound as well, so no backlog
 * builds up on them; an operator may delete them.
 */
export class TriggerConsumers {
  private readonly servers = new Map<string, TriggerJetStreamServer>();
  private jsm: JetStreamManager | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: TriggerConsumersOptions) {}

  /** Registered types other than the scheduler's own; others never reach a trigger. */
  takes(type: string): boolean {
    return this.options.registry.has(type) && !this.options.handled.has(type);
  }

  /** Binds the durables of the applied workflows' types, then keeps looking for new ones. */
  async start(): Promise<void> {
    await this.removeLegacyDurable();
    await this.serialized();
    this.started = true;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  isReady(): boolean {
    return this.started && !this.stopped && [...this.servers.values()].every((s) => s.isReady());
  }

  /** The types bound by this replica. */
  boundTypes(): string[] {
    return [...this.servers.keys()].sort();
  }

  /**
   * Before a workflow naming `type` is stored: its durable exists from here
   * on. A new one starts after the stream's last message, so it delivers
   * every event stored from now on and no history.
   */
  async prepare(type: string): Promise<void> {
    if (!this.takes(type) || this.servers.has(type)) return;
    const jsm = await this.manager();
    const stream = this.options.subjects.stream('EVENTS');
    const durable = triggerDurable(type);
    if (await this.exists(jsm, stream, durable)) return;
    try {
      await jsm.consumers.add(stream, {
        durable_name: durable,
        filter_subject: this.filterOf(type),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        ack_wait: nanos(ACK_WAIT_MS),
        max_deliver: MAX_DELIVER,
      });
      this.options.logger.info('trigger consumer created', { consumer: durable, type });
    } catch (err) {
      // Another replica created it between our look and our add: it existed before our append too.
      if (!(await this.exists(jsm, stream, durable))) throw err;
    }
  }

  /**
   * Binds every type applied workflows name, and every trigger durable
   * there is, that this replica does not take yet. A failure is logged and left to the next refresh: the durables keep
   * the events until then.
   */
  async refresh(): Promise<void> {
    await this.serialized().catch((err: unknown) => this.options.logger.warn('binding trigger consumers failed; retried at the next refresh', { err }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.refreshing.catch(() => undefined);
    await Promise.all([...this.servers.values()].map((s) => s.close()));
  }

  /** One refresh at a time. */
  private serialized(): Promise<void> {
    const next = this.refreshing.catch(() => undefined).then(() => this.bindApplied());
    this.refreshing = next;
    return next;
  }

  private async removeLegacyDurable(): Promise<void> {
    await removeRetiredConsumer(await this.manager(), this.options.subjects.stream('EVENTS'), LEGACY_DURABLE, this.options.subjects.events(), this.options.logger);
  }

  private async bindApplied(): Promise<void> {
    if (this.stopped) return;
    const types = new Set(await this.options.workflows.findTriggerTypes(this.options.pool));
    const jsm = await this.manager();
    for await (const c of jsm.consumers.list(this.options.subjects.stream('EVENTS'))) {
      const type = typeOfDurable(c.name);
      if (type !== undefined && c.name === triggerDurable(type)) types.add(type);
    }
    for (const type of types) {
      if (this.stopped) return;
      if (this.takes(type) && !this.servers.has(type)) await this.bind(type);
    }
  }

  private async bind(type: string): Promise<void> {
    const { nc, subjects, registry, logger, metrics, concurrency, onEvent } = this.options;
    const jsm = await this.manager();
    const durable = triggerDurable(type);
    // Declared as it was created (so no drift is reported); a missing one is created from the beginning of the stream.
    const live = await jsm.consumers.info(subjects.stream('EVENTS'), durable).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      throw err;
    });
    const server = new TriggerJetStreamServer(
      {
        natsUrl: '',
        subjects,
        service: 'scheduler',
        registry,
        logger,
        metrics,
        connection: nc,
        topology: false,
        consumers: [
          {
            stream: 'EVENTS',
            durable,
            filter: this.filterOf(type),
            concurrency,
            ackWaitMs: ACK_WAIT_MS,
            maxDeliver: MAX_DELIVER,
            deliverPolicy: live?.config.deliver_policy ?? DeliverPolicy.All,
          },
        ],
      },
      (t) => this.takes(t),
      onEvent,
    );
    await new Promise<void>((resolve, reject) => void server.listen((err) => (err === undefined ? resolve() : reject(err as Error))));
    if (this.stopped) {
      await server.close();
      return;
    }
    this.servers.set(type, server);
    logger.info('trigger consumer bound', { consumer: durable, type });
  }

  /**
   * A routed type is published as `<type>.<route>`, or without the route
   * when its payload cannot give one, so its durable takes the category
   * (one filter on NATS 2.9); the other types of the category trigger
   * nothing unless a workflow names them.
   */
  private filterOf(type: string): string {
    const { registry, subjects } = this.options;
    return registry.get(type).route === undefined ? subjects.events(type) : subjects.category(type.slice(0, type.indexOf('.')));
  }

  private async exists(jsm: JetStreamManager, stream: string, durable: string): Promise<boolean> {
    try {
      await jsm.consumers.info(stream, durable);
      return true;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return false;
      throw err;
    }
  }

  private async manager(): Promise<JetStreamManager> {
    return (this.jsm ??= await jetstreamManager(this.options.nc));
  }
}
