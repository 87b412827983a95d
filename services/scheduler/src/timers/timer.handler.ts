import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '@steward/contracts';
import { TimerService } from './timer.service';

/** Timer requests and cancellations from any service's streams. */
@Controller()
export class TimerEventHandler {
  constructor(@Inject(TimerService) private readonly timers: TimerService) {}

  @EventPattern('timer.requested')
  requested(@Payload() e: EventEnvelope): Promise<void> {
    return this.timers.requested(e);
  }

  @EventPattern('timer.cancelled')
  cancelled(@Payload() e: EventEnvelope): Promise<void> {
    return this.timers.cancelled(e);
  }
}
