import type { Pool } from 'pg';
import type { EventStore } from '@steward/event-store';
import type { BudgetService } from './budgets/budget.service';
import type { Clock } from './clock';
import type { CommandRunner } from '@steward/runtime';
import type { Threshold } from './domain/budget.evaluate';
import type { PriceRepository } from './prices/price.repository';
import type { CostIngestor } from './usage/cost.ingestor';
import type { UsageBatcher } from './usage/usage.batcher';
import type { UsageHandler } from './usage/usage.handler';

/** What the cost tracker's message handlers share, built once by the root module. */
export interface CostServices {
  pool: Pool;
  store: EventStore;
  clock: Clock;
  timeZone: string;
  defaultThresholds: readonly Threshold[];
  prices: PriceRepository;
  budgets: BudgetService;
  ingestor: CostIngestor;
  usage: UsageHandler;
  batcher: UsageBatcher;
  commands: CommandRunner;
}
