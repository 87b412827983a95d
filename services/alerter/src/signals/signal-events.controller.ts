import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '@steward/contracts';
import { SignalIngest } from './signal.ingest';

/** Every event the alerter watches: one handler each, all the same path (SignalIngest). */
@Controller()
export class SignalEventsController {
  constructor(@Inject(SignalIngest) private readonly ingest: SignalIngest) {}

  @EventPattern('workflow.applied')
  workflowApplied(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('workflow.paused')
  workflowPaused(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('workflow.resumed')
  workflowResumed(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('run.succeeded')
  runSucceeded(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('run.failed')
  runFailed(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('run.timed_out')
  runTimedOut(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('run.cancelled')
  runCancelled(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.queued')
  stepQueued(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.started')
  stepStarted(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.succeeded')
  stepSucceeded(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.failed')
  stepFailed(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.timed_out')
  stepTimedOut(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.dead_lettered')
  deadLettered(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.requeued')
  requeued(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('step.dead_letter_discarded')
  discarded(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('collection.raw_captured')
  captured(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('collection.failed')
  collectionFailed(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('budget.threshold_crossed')
  budget(@Payload() e: EventEnvelope) {
    return this.ingest.handle(e);
  }

  @EventPattern('timer.fired')
  timerFired(@Payload() e: EventEnvelope) {
    return this.ingest.timer(e);
  }
}
