import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, NestJsonLogger, type LogLevel } from './logger';
import { stopTracing } from './tracing';

export interface ServiceBootstrap<C extends { PORT: number; LOG_LEVEL: LogLevel }> {
  service: string;
  /** Parses and validates the environment; throws naming every bad variable. */
  loadConfig: () => C;
  module: (config: C, logger: Logger) => Promise<DynamicModule>;
  /** Bound on a graceful stop (in-flight work, drains) before the process exits anyway. */
  shutdownTimeoutMs?: number;
}

/**
 * Starts a Steward service the way its container runs it: config parsed once
 * (exit 1 naming the bad variables), HTTP for health, readiness and metrics
 * on PORT, and on SIGTERM/SIGINT a graceful close that exits 0.
 */
export async function bootstrapService<C extends { PORT: number; LOG_LEVEL: LogLevel }>(
  options: ServiceBootstrap<C>,
): Promise<INestApplication | undefined> {
  const fallback = new Logger({ service: options.service });
  let app: INestApplication | undefined;
  try {
    const config = options.loadConfig();
    const logger = new Logger({ service: options.service, level: config.LOG_LEVEL });
    app = await NestFactory.create(await options.module(config, logger), { logger: new NestJsonLogger(logger) });
    await app.listen(config.PORT, '0.0.0.0');
    logger.info(`${options.service} started`, { port: config.PORT });
    const stop = (signal: string) => {
      logger.info(`${options.service} stopping`, { signal });
      const timer = setTimeout(() => {
        logger.error(`${options.service} did not stop in time; exiting`, { timeout_ms: options.shutdownTimeoutMs ?? 10_000 });
        process.exit(1);
      }, options.shutdownTimeoutMs ?? 10_000);
      timer.unref();
      void app!
        .close()
        // Spans still in the batch would be lost on exit.
        .then(() => stopTracing())
        .then(() => process.exit(0))
        .catch((err: unknown) => {
          logger.error(`${options.service} failed to stop cleanly`, { err });
          process.exit(1);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return app;
  } catch (err) {
    fallback.error(`${options.service} failed to start`, { err });
    await app?.close().catch(() => undefined);
    process.exit(1);
  }
}
