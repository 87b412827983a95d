import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService, Logger } from '@steward/observability';
import { SchedulerModule } from './app.module';
import { loadConfig } from './config';
import { startConsumers } from './scheduler.consumers';

void bootstrapService({ service: 'scheduler', loadConfig: () => loadConfig(), module: (config, logger) => SchedulerModule.forRoot(config, logger) }).then(async (app) => {
  if (!app) return;
  try {
    await startConsumers(app);
  } catch (err) {
    new Logger({ service: 'scheduler' }).error('scheduler consumers failed to start', { err });
    await app.close().catch(() => undefined);
    process.exit(1);
  }
});
