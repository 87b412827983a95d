import type { INestApplication, INestMicroservice } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { EventEnvelope, EventRegistry } from '@steward/contracts';
import { JetStreamExceptionFilter, JetStreamServer, type JetStreamServerOptions } from '@steward/messaging';
import { TriggerService } from './triggers/trigger.service';

/**
 * The JetStream transport with a fallback for events: `on:` schedules may
 * name any registered event type, so a type without a handler of its own
 * goes to the trigger service instead of being skipped. Commands are not
 * affected (an unknown command still dead-letters).
 */
export class SchedulerJetStreamServer extends JetStreamServer {
  private fallback: MessageHandler | null = null;

  constructor(
    options: JetStreamServerOptions,
    private readonly registry: EventRegistry,
  ) {
    super(options);
  }

  setEventFallback(handle: (event: EventEnvelope) => Promise<void>): void {
    const handler = ((data: EventEnvelope) => handle(data)) as MessageHandler;
    handler.isEventHandler = true;
    this.fallback = handler;
  }

  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return super.getHandlerByPattern(pattern) ?? (this.fallback !== null && this.registry.has(pattern) ? this.fallback : null);
  }
}

/**
 * Attaches the JetStream consumers to a started app (a hybrid Nest app:
 * HTTP for health and metrics, JetStream for commands and events).
 */
export async function startConsumers(app: INestApplication): Promise<INestMicroservice> {
  const server = app.get(SchedulerJetStreamServer);
  const triggers = app.get(TriggerService);
  server.setEventFallback((event) => triggers.onEvent(event));
  // Deferred, so the exception filter is in place before the handlers are wrapped.
  const microservice = app.connectMicroservice({ strategy: server }, { deferInitialization: true });
  microservice.useGlobalFilters(new JetStreamExceptionFilter());
  // The app already ran the lifecycle hooks; the shared container must not run them twice.
  (microservice as unknown as { setIsInitHookCalled(v: boolean): void }).setIsInitHookCalled(true);
  await app.startAllMicroservices();
  return microservice;
}
