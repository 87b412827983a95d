import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger, NestJsonLogger } from '@steward/observability';
import { LedgerModule } from './app.module';
import { loadConfig } from './config';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger({ service: 'ledger', level: config.LOG_LEVEL });
  const app = await NestFactory.create(await LedgerModule.forRoot(config, logger), {
    logger: new NestJsonLogger(logger),
  });
  app.enableShutdownHooks();
  await app.listen(config.PORT, '0.0.0.0');
  logger.info('ledger started', { port: config.PORT, namespace: config.STEWARD_NAMESPACE || undefined });
}

bootstrap().catch((err: unknown) => {
  new Logger({ service: 'ledger' }).error('ledger failed to start', { err });
  process.exit(1);
});
