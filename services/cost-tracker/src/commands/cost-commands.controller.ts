import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { PricesApplied } from '@steward/contracts';
import type { CommandEnvelope } from '@steward/messaging';
import { usdToMicros } from '../domain/money';
import { parsePricesFile } from '../prices/prices.file';
import { COST_SERVICES } from '../cost.tokens';
import type { CostServices } from '../cost.services';
import { ApplyPricesPayload, SetBudgetPayload, thresholdsOf } from './command.schemas';

export const PRICES_STREAM = 'cost-prices';

/** Operator commands the gateway sends to the cost tracker: prices and owner/workflow budgets. */
@Controller()
export class CostCommandsController {
  constructor(@Inject(COST_SERVICES) private readonly s: CostServices) {}

  @EventPattern('cmd:apply_prices')
  async applyPrices(@Payload() command: CommandEnvelope): Promise<void> {
    await this.s.commands.run(command, ApplyPricesPayload, async (tx, p, metadata) => {
      const prices = parsePricesFile(p.yaml, this.s.timeZone);
      const now = this.s.clock.now();
      const data = { prices, ...(p.file !== undefined && { file: p.file }), appliedAt: now.toISOString() };
      const appended = await this.s.store.append(PRICES_STREAM, [{ type: PricesApplied.type, data, metadata }], { expected: 'any', tx });
      await this.s.prices.apply(tx, prices, now);
      return appended.events;
    });
  }

  @EventPattern('cmd:set_budget')
  async setBudget(@Payload() command: CommandEnvelope): Promise<void> {
    await this.s.commands.run(command, SetBudgetPayload, (tx, p, metadata) =>
      this.s.budgets.set(
        tx,
        { scope: p.scope, id: p.id, monthlyMicros: usdToMicros(p.monthlyUsd), thresholds: thresholdsOf(p.thresholds, this.s.defaultThresholds), origin: 'operator' },
        this.s.clock.now(),
        metadata,
      ),
    );
  }
}
