import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { JetStreamExceptionFilter, JetStreamServer } from '@steward/messaging';
import { TriggerConsumers } from './triggers/trigger.consumers';

/**
 * Attaches the JetStream consumers to a started app (a hybrid Nest app:
 * HTTP for health and metrics, JetStream for commands and events), then
 * binds the trigger durables of the applied workflows.
 */
export async function startConsumers(app: INestApplication): Promise<INestMicroservice> {
  const server = app.get(JetStreamServer);
  // Deferred, so the exception filter is in place before the handlers are wrapped.
  const microservice = app.connectMicroservice({ strategy: server }, { deferInitialization: true });
  microservice.useGlobalFilters(new JetStreamExceptionFilter());
  // The app already ran the lifecycle hooks; the shared container must not run them twice.
  (microservice as unknown as { setIsInitHookCalled(v: boolean): void }).setIsInitHookCalled(true);
  await app.startAllMicroservices();
  await app.get(TriggerConsumers).start();
  return microservice;
}
