import { Module, type DynamicModule } from '@nestjs/common';
import { AlertCommandsController } from './commands/alert-commands.controller';
import { AlertCommands } from './commands/alert-commands.service';
import { CommandRunner } from '@steward/runtime';
import { SignalIngest } from './signals/signal.ingest';

export interface AlerterHandlers {
  ingest: SignalIngest;
  commands: CommandRunner;
  alertCommands: AlertCommands;
}

/**
 * The message handlers, mounted on the JetStream transport as a Nest
 * microservice of their own (the HTTP app serves health and metrics), built
 * from instances the root module already made.
 */
@Module({})
export class AlerterHandlersModule {
  static forRoot(h: AlerterHandlers): DynamicModule {
    return {
      module: AlerterHandlersModule,
      controllers: [AlertCommandsController],
      providers: [
        { provide: SignalIngest, useValue: h.ingest },
        { provide: CommandRunner, useValue: h.commands },
        { provide: AlertCommands, useValue: h.alertCommands },
      ],
    };
  }
}
