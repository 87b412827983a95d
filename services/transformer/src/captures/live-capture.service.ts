import { TransformationCompleted, TransformationFailed, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import type { Clock } from '../clock';
import type { Transform } from '../transforms/transform.define';
import type { Capture, CaptureOutcome, CaptureTransformer } from './capture.transformer';
import type { Resolved, TransformRoutes } from './transform.routes';

export interface AppliedCapture {
  ref: string;
  transform?: Transform;
  outcome: CaptureOutcome | { status: 'failed'; error: { code: string; message: string } };
  events: StoredEvent[];
}

/**
 * The live path: one capture through the transforms that apply to it, in
 * the caller's transaction (processOnce: inbox, rows, events together). Each
 * (capture, transform) is transformed and recorded at most once, whichever
 * path (this event, a workflow step) gets there first.
 */
export class LiveCaptureService {
  constructor(
    private readonly store: EventStore,
    private readonly transformer: CaptureTransformer,
    private readonly routes: TransformRoutes,
    private readonly clock: Clock,
  ) {}

  async onCaptured(tx: Queryable, capture: Capture, metadata: EventMetadata): Promise<AppliedCapture[]> {
    const resolved = await this.routes.forCapture(tx, capture);
    const applied: AppliedCapture[] = [];
    for (const r of resolved) applied.push(await this.apply(tx, capture, r, metadata));
    return applied;
  }

  async apply(tx: Queryable, capture: Capture, resolved: Resolved, metadata: EventMetadata): Promise<AppliedCapture> {
    const started = this.clock.now();
    if (!resolved.transform) {
      const error = { code: 'unknown_transform', message: `no transform ${resolved.ref} is loaded (TRANSFORMER_TRANSFORMS)` };
      const events = await this.record(tx, capture, metadata, TransformationFailed.type, { transform: resolved.ref, captureId: capture.captureId, ...origin(capture), error: { ...error, retryable: false }, failedAt: started.toISOString() });
      return { ref: resolved.ref, outcome: { status: 'failed', error }, events };
    }
    const transform = resolved.transform;
    const result = await this.transformer.transform(tx, transform, [capture], { live: true }, started);
    const outcome = result.outcomes.get(capture.captureId)!;
    const now = this.clock.now();
    let events: StoredEvent[] = [];
    if (outcome.status === 'applied') {
      events = await this.record(tx, capture, metadata, TransformationCompleted.type, {
        transform: transform.ref,
        dataset: transform.dataset,
        datasetVersion: transform.version,
        captureId: capture.captureId,
        source: capture.source,
        ...origin(capture),
        counts: outcome.counts,
        durationMs: Math.max(0, now.getTime() - started.getTime()),
        completedAt: now.toISOString(),
      });
    } else if (outcome.status === 'failed') {
      events = await this.record(tx, capture, metadata, TransformationFailed.type, { transform: transform.ref, captureId: capture.captureId, ...origin(capture), error: { ...outcome.error, retryable: false }, failedAt: now.toISOString() });
    }
    return { ref: transform.ref, transform, outcome, events };
  }

  private async record(tx: Queryable, capture: Capture, metadata: EventMetadata, type: string, data: Record<string, unknown>): Promise<StoredEvent[]> {
    const meta = { ...metadata, ...(capture.workflowId !== undefined && { workflowId: capture.workflowId }), ...(capture.runId !== undefined && { runId: capture.runId }) };
    const { events } = await this.store.append(`transformation-${capture.captureId}`, [{ type, data, metadata: meta }], { expected: 'any', tx });
    return events;
  }
}

function origin(capture: Capture): { workflowId?: string; runId?: string; stepId?: string } {
  return {
    ...(capture.workflowId !== undefined && { workflowId: capture.workflowId }),
    ...(capture.runId !== undefined && { runId: capture.runId }),
    ...(capture.stepId !== undefined && { stepId: capture.stepId }),
  };
}
