#!/usr/bin/env node
// A team's own worker process: `node libs/worker/dist/worker.main.js` with
// NATS_URL, STEWARD_NAMESPACE, STEWARD_HANDLERS, STEWARD_QUEUES,
// WORKER_CONCURRENCY (and optionally WORKER_ID, STEWARD_PROFILES, PORT for
// /healthz, /readyz and /metrics).
import { createServer } from 'node:http';
import { Logger, Metrics } from '@steward/observability';
import { parseWorkerConfig, startWorker } from './worker.config';

async function main(): Promise<void> {
  const config = parseWorkerConfig();
  const logger = new Logger({ service: 'worker', level: config.LOG_LEVEL });
  const metrics = new Metrics('worker');
  const worker = await startWorker(config, { logger, metrics });
  const http =
    config.PORT === undefined
      ? undefined
      : createServer((req, res) => {
          if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
          if (req.url === '/readyz') {
            const ready = worker.pool.isReady();
            return void res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'not_ready' }));
          }
          if (req.url === '/metrics') {
            return void metrics.render().then((body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body));
          }
          res.writeHead(404).end();
        }).listen(config.PORT);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('worker stopping', { signal });
    http?.close();
    void worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('worker did not stop cleanly', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Config and handler-load errors name what to fix; print them plainly and exit non-zero.
  process.stderr.write(`${JSON.stringify({ level: 'error', service: 'worker', msg: 'worker failed to start', err: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(1);
});
