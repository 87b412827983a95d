import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { allEvents, type EventEnvelope } from '@steward/contracts';
import { COST_SERVICES } from '../cost.tokens';
import type { CostServices } from '../cost.services';

export const EVENTS_CONSUMER = 'cost-tracker';

/**
 * Every event type: each stored event counts towards its service's event
 * volume, and the usage-bearing ones (task attempts, captures,
 * transformations) become cost records. Events handled at the same time
 * share one inbox transaction (UsageBatcher); each is acked after it commits.
 */
@Controller()
export class UsageEventsController {
  constructor(@Inject(COST_SERVICES) private readonly s: CostServices) {}

  @EventPattern(allEvents.map((e) => e.type))
  async onEvent(@Payload() envelope: EventEnvelope): Promise<void> {
    await this.s.batcher.submit(envelope);
  }
}
