import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Pool } from 'pg';
import { causedBy, type EventData, type EventEnvelope, type ReplayFailed, type ReplayPublished, type ReplayStarted, type WorkflowApplied } from '@steward/contracts';
import { EventStore, processOnce } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Clock } from './clock';
import type { Capture } from './captures/capture.transformer';
import { LiveCaptureService } from './captures/live-capture.service';
import { projectWorkflowApplied } from './captures/workflow-steps.projector';
import { CommandRunner } from '@steward/runtime';
import { promoteDatasetVersion, PromoteDatasetVersionPayload } from './commands/promote.command';
import { DatasetRepository } from './datasets/dataset.repository';
import { ReplayService } from './replay/replay.service';
import { TransformStepService } from './steps/transform-step.service';
import { CLOCK, POOL } from './transformer.tokens';

/** Durables on the events stream: one per concern, since NATS 2.9 allows one filter subject a consumer. */
export const LIVE_CONSUMER = 'transformer';
export const CONTROL_CONSUMER = 'transformer-control';

/**
 * The transformer's message handlers: thin, each validates nothing more
 * than the transport already did and delegates in one transaction.
 */
@Controller()
export class TransformerController {
  constructor(
    @Inject(POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(LiveCaptureService) private readonly live: LiveCaptureService,
    @Inject(ReplayService) private readonly replays: ReplayService,
    @Inject(TransformStepService) private readonly steps: TransformStepService,
    @Inject(CommandRunner) private readonly commands: CommandRunner,
    @Inject(DatasetRepository) private readonly datasets: DatasetRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventPattern('collection.raw_captured')
  async captured(@Payload() envelope: EventEnvelope): Promise<void> {
    // Only live captures reach here: replayed ones have their own consumer (ReplayConsumer).
    await processOnce(this.pool, this.store, LIVE_CONSUMER, envelope.id, (tx) => this.live.onCaptured(tx, envelope.data as Capture, causedBy(envelope)));
  }

  @EventPattern('step.queued')
  async stepQueued(@Payload() envelope: EventEnvelope): Promise<void> {
    await this.steps.handle(envelope);
  }

  @EventPattern('workflow.applied')
  async workflowApplied(@Payload() envelope: EventEnvelope): Promise<void> {
    await processOnce(this.pool, this.store, CONTROL_CONSUMER, envelope.id, (tx) => projectWorkflowApplied(tx, envelope.data as EventData<typeof WorkflowApplied>));
  }

  @EventPattern('replay.started')
  async replayStarted(@Payload() envelope: EventEnvelope): Promise<void> {
    await processOnce(this.pool, this.store, CONTROL_CONSUMER, envelope.id, (tx) => this.replays.started(tx, envelope.data as EventData<typeof ReplayStarted>));
  }

  @EventPattern('replay.published')
  async replayPublished(@Payload() envelope: EventEnvelope): Promise<void> {
    await processOnce(this.pool, this.store, CONTROL_CONSUMER, envelope.id, (tx) => this.replays.published(tx, envelope.data as EventData<typeof ReplayPublished>, causedBy(envelope)));
  }

  @EventPattern('replay.failed')
  async replayFailed(@Payload() envelope: EventEnvelope): Promise<void> {
    await processOnce(this.pool, this.store, CONTROL_CONSUMER, envelope.id, (tx) => this.replays.failed(tx, envelope.data as EventData<typeof ReplayFailed>));
  }

  @EventPattern('cmd:promote_dataset_version')
  async promote(@Payload() command: CommandEnvelope): Promise<void> {
    await this.commands.run(command, PromoteDatasetVersionPayload, (tx, p, meta) => promoteDatasetVersion(tx, this.store, this.datasets, this.clock, p, meta));
  }
}
