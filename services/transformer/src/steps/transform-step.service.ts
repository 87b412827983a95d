import type { Pool } from 'pg';
import { RawCaptured, type EventData, type EventEnvelope, type StepQueued } from '@steward/contracts';
import { unitOfWork, type EventStore } from '@steward/event-store';
import { causedBy } from '@steward/contracts';
import type { Capture } from '../captures/capture.transformer';
import type { LiveCaptureService } from '../captures/live-capture.service';
import type { TransformRegistry } from '../transforms/transform.registry';
import type { Attempt, StepReportPublisher } from './step-report.publisher';

export type QueuedStep = EventData<typeof StepQueued>;

interface CaptureRef {
  captureId: string;
  fingerprint?: string;
}

type StepResult =
  | { status: 'succeeded'; outputs: Record<string, unknown> }
  | { status: 'failed'; error: { code: string; message: string; retryable: boolean } };

/**
 * Serves a workflow's `transform` steps (step.queued routed `transformer`):
 * finds the captures in the outputs of the collect steps it needs, runs them
 * through the step's `name@version` (or reuses what the live path already
 * did with the same capture and transform: one key, one effect), and reports
 * to the executor like a worker does. Reports carry ids derived from the
 * attempt, so a redelivery re-sends the same commands and changes nothing.
 */
export class TransformStepService {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly registry: TransformRegistry,
    private readonly live: LiveCaptureService,
    private readonly reports: StepReportPublisher,
  ) {}

  async handle(envelope: EventEnvelope): Promise<void> {
    const step = envelope.data as QueuedStep;
    const attempt: Attempt = { runId: step.runId, stepId: step.stepId, attempt: step.attempt, queuedAt: step.queuedAt };
    const report = (name: 'report_step_started' | 'report_step_result', payload: Record<string, unknown>) => this.reports.report(name, attempt, payload, envelope.correlationid, envelope.traceparent);
    await report('report_step_started', { workerId: 'transformer' });
    const started = Date.now();
    const result = await this.run(step, envelope);
    await report('report_step_result', { outcome: result, usage: { wallMs: Date.now() - started } });
  }

  private async run(step: QueuedStep, envelope: EventEnvelope): Promise<StepResult> {
    const { name, version } = step.spec as { name?: unknown; version?: unknown };
    const ref = `${String(name)}@${String(version)}`;
    const transform = this.registry.get(ref);
    if (!transform) return failed('unknown_transform', `no transform ${ref} is loaded (TRANSFORMER_TRANSFORMS)`);
    const refs = captureRefs(step.input.outputs);
    if (refs.length === 0) return failed('no_capture', `step ${step.stepId} needs a collect step whose outputs name a captureId; none of ${Object.keys(step.input.outputs).join(', ') || '(no outputs)'} does`);
    const counts = { rows: 0, upserted: 0, unchanged: 0, quarantined: 0 };
    let maxChangePct: number | undefined;
    for (const r of refs) {
      const capture = await this.findCapture(r, step.runId);
      if (!capture) return failed('capture_not_found', `capture ${r.captureId} is not in the event store`);
      const applied = await unitOfWork(this.pool, (tx) => this.live.apply(tx, capture, { ref, transform }, causedBy(envelope)));
      const o = applied.outcome;
      if (o.status === 'failed') return failed(o.error.code, o.error.message);
      if (o.status === 'already' && o.error) return failed(o.error.code, o.error.message);
      counts.rows += o.counts.rows;
      counts.upserted += o.counts.upserted;
      counts.unchanged += o.counts.unchanged;
      counts.quarantined += o.counts.quarantined;
      if (o.maxChangePct !== undefined) maxChangePct = Math.max(maxChangePct ?? 0, o.maxChangePct);
    }
    return { status: 'succeeded', outputs: { dataset: transform.dataset, datasetVersion: transform.version, counts, ...(maxChangePct !== undefined && { maxChangePct }) } };
  }

  private async findCapture(r: CaptureRef, runId: string): Promise<Capture | undefined> {
    const match = (events: Array<{ type: string; data: unknown }>) => events.find((e) => e.type === RawCaptured.type && (e.data as Capture).captureId === r.captureId)?.data as Capture | undefined;
    if (r.fingerprint !== undefined) {
      const found = match(await this.store.readStream(`capture-${r.fingerprint}`));
      if (found) return found;
    }
    return match((await this.store.query({ runId, types: [RawCaptured.type] }, { limit: 1000 })).events);
  }
}

function failed(code: string, message: string): StepResult {
  return { status: 'failed', error: { code, message: message.slice(0, 4000), retryable: false } };
}

/**
 * Captures named by the outputs of the steps this one needs, as the
 * collector reports them: `{ captureId, fingerprint }`, and for a glob of
 * files also `captures: [{ captureId, fingerprint }, ...]` (each once).
 */
export function captureRefs(outputs: Record<string, unknown>): CaptureRef[] {
  const refs = new Map<string, CaptureRef>();
  const add = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if (typeof o.captureId === 'string' && !refs.has(o.captureId)) refs.set(o.captureId, { captureId: o.captureId, ...(typeof o.fingerprint === 'string' && { fingerprint: o.fingerprint }) });
  };
  for (const out of Object.values(outputs)) {
    add(out);
    const many = (out as { captures?: unknown } | null)?.captures;
    if (Array.isArray(many)) many.forEach(add);
  }
  return [...refs.values()];
}
