import { Module, type DynamicModule } from '@nestjs/common';
import { CostCommandsController } from './commands/cost-commands.controller';
import type { CostServices } from './cost.services';
import { COST_SERVICES } from './cost.tokens';

/**
 * The message handlers, mounted on the JetStream transport as a Nest
 * microservice of their own (the HTTP app serves health and metrics), built
 * from instances the root module already made.
 */
@Module({})
export class CostHandlersModule {
  static forRoot(services: CostServices): DynamicModule {
    return { module: CostHandlersModule, controllers: [CostCommandsController], providers: [{ provide: COST_SERVICES, useValue: services }] };
  }
}
