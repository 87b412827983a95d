import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { CostTrackerModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'cost-tracker', loadConfig: () => loadConfig(), module: (config, logger) => CostTrackerModule.forRoot(config, logger) });
