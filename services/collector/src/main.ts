import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { CollectorModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'collector', loadConfig: () => loadConfig(), module: (config, logger) => CollectorModule.forRoot(config, logger) });
