import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { AlerterModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'alerter', loadConfig: () => loadConfig(), module: (config, logger) => AlerterModule.forRoot(config, logger) });
