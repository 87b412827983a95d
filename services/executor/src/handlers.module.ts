import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import type { Pool } from 'pg';
import { EventStore } from '@steward/event-store';
import type { Clock, Random } from './clock';
import { CommandRunner } from '@steward/runtime';
import { OperatorCommandsController } from './commands/operator-commands.controller';
import { WorkerCommandsController } from './commands/worker-commands.controller';
import type { EventEnvelope } from '@steward/contracts';
import type { InboxBatcher } from '@steward/event-store';
import type { BatchedCommand } from './commands/command.batcher';
import { CLOCK, POOL, RANDOM, RUN_REQUESTS, WORKER_REPORTS } from './executor.tokens';
import { RunProjectionRepository } from './projection/run-projection.repository';
import { RunEngine } from './runs/run.engine';
import { RunEventsController } from './runs/run-events.controller';
import { RunRequestService } from './runs/run-request.service';
import { TimerFiredService } from './timers/timer-fired.service';
import type { BaselinePacer } from './projection/baseline.pacer';
import type { QueuedStepSweep } from './timers/queued-step.sweep';

export interface ExecutorHandlers {
  pool: Pool;
  store: EventStore;
  engine: RunEngine;
  runs: RunProjectionRepository;
  requests: RunRequestService;
  runRequests: InboxBatcher<EventEnvelope>;
  workerReports: InboxBatcher<BatchedCommand>;
  timers: TimerFiredService;
  commands: CommandRunner;
  clock: Clock;
  random: Random;
  /** Trailing baseline refreshes, run at shutdown. */
  baselinePacer: BaselinePacer;
  /** The schedule-to-start default guard. */
  queuedSteps: QueuedStepSweep;
}

/**
 * The message handlers, mounted on the JetStream transport as a Nest
 * microservice of their own (the HTTP app serves health and metrics). Built
 * from instances the root module already made, so both share one pool and
 * one NATS connection.
 */
@Module({})
export class ExecutorHandlersModule {
  static forRoot(h: ExecutorHandlers): DynamicModule {
    const providers: Provider[] = [
      { provide: POOL, useValue: h.pool },
      { provide: EventStore, useValue: h.store },
      { provide: RunEngine, useValue: h.engine },
      { provide: RunProjectionRepository, useValue: h.runs },
      { provide: RunRequestService, useValue: h.requests },
      { provide: RUN_REQUESTS, useValue: h.runRequests },
      { provide: WORKER_REPORTS, useValue: h.workerReports },
      { provide: TimerFiredService, useValue: h.timers },
      { provide: CommandRunner, useValue: h.commands },
      { provide: CLOCK, useValue: h.clock },
      { provide: RANDOM, useValue: h.random },
    ];
    return { module: ExecutorHandlersModule, controllers: [RunEventsController, WorkerCommandsController, OperatorCommandsController], providers };
  }
}
