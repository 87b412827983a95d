import { Module, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { EventStore } from '@steward/event-store';
import type { Clock } from './clock';
import { LiveCaptureService } from './captures/live-capture.service';
import { CommandRunner } from '@steward/runtime';
import { DatasetRepository } from './datasets/dataset.repository';
import { ReplayService } from './replay/replay.service';
import { TransformStepService } from './steps/transform-step.service';
import { TransformerController } from './transformer.controller';
import { CLOCK, POOL } from './transformer.tokens';

export interface TransformerHandlers {
  pool: Pool;
  store: EventStore;
  live: LiveCaptureService;
  replays: ReplayService;
  steps: TransformStepService;
  commands: CommandRunner;
  datasets: DatasetRepository;
  clock: Clock;
}

/**
 * The message handlers, mounted on the JetStream transport as a Nest
 * microservice of their own (the HTTP app serves health and metrics), built
 * from instances the root module made so both share one pool and connection.
 */
@Module({})
export class TransformerHandlersModule {
  static forRoot(h: TransformerHandlers): DynamicModule {
    return {
      module: TransformerHandlersModule,
      controllers: [TransformerController],
      providers: [
        { provide: POOL, useValue: h.pool },
        { provide: EventStore, useValue: h.store },
        { provide: LiveCaptureService, useValue: h.live },
        { provide: ReplayService, useValue: h.replays },
        { provide: TransformStepService, useValue: h.steps },
        { provide: CommandRunner, useValue: h.commands },
        { provide: DatasetRepository, useValue: h.datasets },
        { provide: CLOCK, useValue: h.clock },
      ],
    };
  }
}
