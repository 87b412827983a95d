import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { ExecutorModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'executor', loadConfig: () => loadConfig(), module: (config, logger) => ExecutorModule.forRoot(config, logger) });
