import './tracing.bootstrap';
import 'reflect-metadata';
import { bootstrapService } from '@steward/observability';
import { LedgerModule } from './app.module';
import { loadConfig } from './config';

void bootstrapService({ service: 'ledger', loadConfig: () => loadConfig(), module: (config, logger) => LedgerModule.forRoot(config, logger) });
