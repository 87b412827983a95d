import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { GatewayModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'gateway', loadConfig: () => loadConfig(), module: (config, logger) => GatewayModule.forRoot(config, logger) });
