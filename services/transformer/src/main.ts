import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { TransformerModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'transformer', loadConfig: () => loadConfig(), module: (config, logger) => TransformerModule.forRoot(config, logger) });
