import { createHash } from 'node:crypto';
import { uuidv7, type EventData, type EventEnvelope, type EventMetadata, type StepQueued } from '@steward/contracts';
import type { JetStreamContext } from '@steward/messaging';
import type { Logger } from '@steward/observability';
import { secretEnvName } from '@steward/worker';
import type { Clock } from '../clock';
import type { CollectorMetrics } from '../collector.metrics';
import type { SourceLimiter, Acquired } from '../limits/source-limiter';
import type { StepReportPublisher } from '../report/step-report.publisher';
import type { AttemptOutcome, CaptureRepository, RawCapturedData } from './capture.repository';
import { CollectError, permanent } from './collect.error';
import { describeRequest, parseCollectSpec, type CollectStepSpec } from './collect-spec';
import { fingerprintOf } from './fingerprint';
import type { Fetched, SourceFetcher } from './source.fetcher';
import { scrubText } from '../http/header.scrub';
import { isTextual } from '../sources/content-type';
import { workflowOfSource, type DisabledSource, type SourceSwitch } from '../switch/source-switch';

type StepQueuedData = EventData<typeof StepQueued>;

/** The step could not be served now: hand the message back to be redelivered after the delay. */
interface HandBack {
  delayMs: number;
}

export interface CollectSettings {
  inlineMaxBytes: number;
  limitMaxWaitMs: number;
  retryAfterMaxWaitMs: number;
  retryAfterMaxTries: number;
  secretSource: Record<string, string | undefined>;
}

/** Margin kept between the end of our work and the executor's start-to-close timeout. */
const DEADLINE_MARGIN_MS = 1_000;

/**
 * One delivery of `step.queued` routed to the collector: find the capture
 * this step occurrence already has (then report it without fetching), or
 * take the source's rate and concurrency grant, fetch, keep the body raw
 * once, and report the outcome to the executor. Each failed fetch is kept
 * as `collection.failed` with what the source returned.
 */
export class CollectStepHandler {
  private readonly inFlight = new Map<string, Promise<HandBack | undefined>>();

  constructor(
    private readonly repo: CaptureRepository,
    private readonly switches: Pick<SourceSwitch, 'disabled'>,
    private readonly fetcher: SourceFetcher,
    private readonly limiter: SourceLimiter,
    private readonly reports: StepReportPublisher,
    private readonly clock: Clock,
    private readonly metrics: CollectorMetrics,
    private readonly logger: Logger,
    private readonly settings: CollectSettings,
  ) {}

  /**
   * A second delivery of an attempt this replica is still working on (a
   * redelivery that overtook a slow fetch) waits for the first instead of
   * fetching in parallel; both are then settled together.
   */
  async handle(envelope: EventEnvelope, ctx: JetStreamContext | undefined): Promise<void> {
    const data = envelope.data as StepQueuedData;
    const key = `${data.runId}:${data.stepId}:${data.attempt}`;
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.collect(envelope).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    const handBack = await running;
    // Each delivery settles its own message: handed back (nak with the delay) or, by returning, acked.
    if (handBack && ctx) ctx.nak(handBack.delayMs);
  }

  private async collect(envelope: EventEnvelope): Promise<HandBack | undefined> {
    const data = envelope.data as StepQueuedData;
    if (data.kind !== 'collect' || data.target.service !== 'collector') {
      this.logger.warn('ignoring a step.queued that is not a collect step', { run_id: data.runId, task_id: data.stepId, kind: data.kind });
      return;
    }
    const identity = { runId: data.runId, stepId: data.stepId, workflowId: data.workflowId, attempt: data.attempt };
    const report = { identity, queuedAt: data.queuedAt, correlationId: envelope.correlationid, ...(envelope.traceparent !== undefined && { traceparent: envelope.traceparent }) };
    const log = this.logger.child({ workflow: data.workflowId, run_id: data.runId, task_id: data.stepId, attempt: data.attempt, ...(envelope.traceparent !== undefined && { trace_id: envelope.traceparent.split('-')[1] }) });
    const metadata: EventMetadata = {
      correlationId: envelope.correlationid,
      causationId: envelope.id,
      workflowId: data.workflowId,
      runId: data.runId,
      ...(envelope.traceparent !== undefined && { traceparent: envelope.traceparent }),
    };
    const begun = Date.now();

    // A redelivery of an attempt that already ended: the same report again, nothing fetched.
    const recorded = await this.repo.findAttemptOutcome(identity);
    if (recorded) {
      await this.reports.started(report);
      await this.reports.result(report, recorded, 0);
      log.info('attempt already recorded, outcome reported again', { status: recorded.status });
      return;
    }

    const source = `${data.workflowId}.${data.stepId}`;
    let spec: CollectStepSpec | undefined;
    let specError: CollectError | undefined;
    try {
      spec = parseCollectSpec(data.spec);
    } catch (err) {
      if (!(err instanceof CollectError)) throw err;
      specError = err;
    }
    const described = spec ? describeRequest(spec) : { kind: 'http' as const, target: 'invalid-spec', detail: data.spec };
    const scheduledAt = await this.repo.occurrenceOf(data.runId);
    const fingerprint = fingerprintOf({ source, request: described.detail, inputs: data.input.inputs, ...(scheduledAt !== undefined && { scheduledAt }), runId: data.runId });
    const request = { kind: described.kind, target: described.target.slice(0, 4000), ...(described.method !== undefined && { method: described.method }) };
    const base = { source, workflowId: data.workflowId, runId: data.runId, stepId: data.stepId, attempt: data.attempt, fingerprint, request };

    // A disabled source is not touched at all: no capture reused, no token taken, nothing fetched.
    // Not a collection.failed either (nothing was fetched), so it does not feed the source's failure rate.
    const refuseDisabled = async (disabled: DisabledSource, alreadyStarted: boolean): Promise<undefined> => {
      const outcome: AttemptOutcome = { status: 'failed', error: { code: 'source_disabled', message: disabledMessage(disabled), retryable: false } };
      await this.repo.rememberOutcome(identity, fingerprint, outcome);
      if (!alreadyStarted) await this.reports.started(report);
      await this.reports.result(report, outcome, Date.now() - begun);
      this.metrics.fetched(source, described.kind, 'disabled', 0);
      log.warn('source disabled, attempt failed without fetching', { status: 'failed', source, disabled_by: disabled.disabledBy, err: { code: 'source_disabled', class: 'permanent', message: outcome.error.message } });
      return undefined;
    };
    const disabled = await this.switches.disabled(source);
    if (disabled) return refuseDisabled(disabled, false);

    const existing = await this.repo.findCapture(fingerprint);
    if (existing) {
      const outcome = succeeded(existing);
      await this.repo.rememberOutcome(identity, fingerprint, outcome);
      await this.reports.started(report);
      await this.reports.result(report, outcome, Date.now() - begun);
      this.metrics.fetched(source, described.kind, 'reused', 0);
      log.info('capture already kept for this occurrence, reported without fetching', { status: 'succeeded', fingerprint, capture_id: existing.captureId });
      return;
    }

    const fail = async (err: CollectError, final: boolean, durationMs: number, secrets: readonly string[]): Promise<undefined> => {
      const outcome: AttemptOutcome = {
        status: 'failed',
        error: {
          code: err.code,
          message: scrubText(withRetryAfter(err), secrets).slice(0, 4000),
          retryable: err.retryable,
          // Not in StepErrorSchema yet (the executor strips it): the minimum delay its retry policy should respect.
          ...(err.details.retryAfterMs !== undefined && { retryAfterMs: err.details.retryAfterMs }),
        },
      };
      const snapshot = err.details.snapshot;
      await this.repo.recordFailure(
        {
          ...base,
          ...(scheduledAt !== undefined && { scheduledAt }),
          failureClass: err.failureClass,
          error: { code: err.code, message: scrubText(err.message, secrets).slice(0, 4000) },
          ...(err.details.retryAfterMs !== undefined && { retryAfterMs: err.details.retryAfterMs }),
          ...(snapshot && { snapshot: { ...snapshot, ...(snapshot.bodyExcerpt !== undefined && { bodyExcerpt: scrubText(snapshot.bodyExcerpt, secrets).slice(0, 4096) }) } }),
          durationMs: Math.max(0, Math.round(durationMs)),
          failedAt: this.clock.now().toISOString(),
        },
        identity,
        final ? outcome : undefined,
        metadata,
      );
      this.metrics.fetched(source, described.kind, err.failureClass, durationMs);
      if (final) {
        await this.reports.result(report, outcome, Date.now() - begun);
        log.warn('collect attempt failed', { status: 'failed', duration_ms: Date.now() - begun, err: { code: err.code, class: err.failureClass, message: outcome.error.message } });
      } else {
        log.info('fetch failed, retrying within the attempt', { err: { code: err.code }, retry_in_ms: err.details.retryAfterMs });
      }
      return undefined;
    };

    if (specError || !spec) {
      await this.reports.started(report);
      return fail(specError ?? permanent('invalid_spec', 'the collect spec is missing'), true, 0, []);
    }

    const leaseMs = data.timeouts.startToCloseMs + 5_000;
    const limits = { ...(spec.rateLimit && { rate: spec.rateLimit }), ...(spec.concurrency !== undefined && { concurrency: spec.concurrency }), leaseMs };
    let grant: Acquired = await this.limiter.acquire(source, limits, this.settings.limitMaxWaitMs);
    if (!grant.granted) {
      this.metrics.fetched(source, described.kind, 'limited', 0);
      log.info('source limit reached, message handed back', { reason: grant.reason, retry_in_ms: grant.waitMs });
      return { delayMs: grant.waitMs };
    }

    let secrets: string[] = [];
    let holding = true;
    try {
      await this.reports.started(report);
      const deadline = Date.now() + data.timeouts.startToCloseMs - DEADLINE_MARGIN_MS;
      let resolvedSecret: string | undefined;
      if (spec.source.kind === 'http' && spec.source.auth) {
        const name = secretEnvName(spec.source.auth.secretRef);
        resolvedSecret = this.settings.secretSource[name];
        if (resolvedSecret === undefined || resolvedSecret === '') {
          return await fail(permanent('secret_missing', `auth references secret "${spec.source.auth.secretRef}", which this collector does not hold (set ${name})`), true, 0, []);
        }
        secrets = [resolvedSecret];
      }
      for (let tries = 0; ; tries++) {
        const started = Date.now();
        try {
          const fetched = await this.fetcher.fetch(spec, { ...identity }, data.input, { deadline, secret: resolvedSecret });
          const durationMs = Date.now() - started;
          const outputs = await this.keep(fetched, spec.source.kind === 'file' && 'glob' in spec.source, base, scheduledAt, durationMs, identity, metadata);
          this.metrics.fetched(source, described.kind, 'captured', durationMs, fetched.reduce((n, f) => n + f.body.byteLength, 0));
          await this.reports.result(report, outputs, Date.now() - begun);
          log.info('capture kept', { status: 'succeeded', duration_ms: durationMs, http_status: fetched[0]?.status, size: outputs.status === 'succeeded' ? outputs.outputs.size : undefined, fingerprint });
          return;
        } catch (err) {
          if (!(err instanceof CollectError)) throw err;
          const durationMs = Date.now() - started;
          const wait = err.details.retryAfterMs;
          const fits = err.retryable && wait !== undefined && tries < this.settings.retryAfterMaxTries && wait <= this.settings.retryAfterMaxWaitMs && Date.now() + wait < deadline;
          await fail(err, !fits, durationMs, secrets);
          if (!fits) return;
          // The transport keeps the message alive (working()) while we wait; the grant is given back meanwhile.
          await grant.release();
          holding = false;
          await this.clock.sleep(wait!);
          // Disabled while we waited (the alerter's first response to these very failures): no second fetch.
          const disabledMeanwhile = await this.switches.disabled(source);
          if (disabledMeanwhile) return await refuseDisabled(disabledMeanwhile, true);
          grant = await this.limiter.acquire(source, limits, Math.max(0, deadline - Date.now()));
          holding = grant.granted;
          if (!grant.granted) return await fail(new CollectError('rate_limited', 'transient', `the source's limit left no room before the attempt's deadline`, { retryAfterMs: grant.waitMs }), true, 0, secrets);
        }
      }
    } finally {
      if (holding && grant.granted) await grant.release().catch((err: unknown) => log.warn('could not release a concurrency slot (it expires by itself)', { err }));
    }
  }

  /** Keeps each fetched body as a capture (inline or blob) and builds the step's outputs. */
  private async keep(fetched: Fetched[], perFile: boolean, base: Omit<RawCapturedData, 'captureId' | 'status' | 'contentType' | 'size' | 'sha256' | 'headers' | 'durationMs' | 'body' | 'capturedAt' | 'scheduledAt'>, scheduledAt: string | undefined, durationMs: number, identity: { runId: string; stepId: string; attempt: number }, metadata: EventMetadata): Promise<AttemptOutcome> {
    const kept: RawCapturedData[] = [];
    for (const f of fetched) {
      // Several files of one glob: each its own capture, keyed by the step's fingerprint and the path.
      const fingerprint = !perFile ? base.fingerprint : createHash('sha256').update(`${base.fingerprint}\n${f.path ?? ''}`).digest('hex');
      const prior = perFile ? await this.repo.findCapture(fingerprint) : undefined;
      if (prior) {
        kept.push(prior);
        continue;
      }
      const sha256 = createHash('sha256').update(f.body).digest('hex');
      const inline = f.body.byteLength <= this.settings.inlineMaxBytes;
      const utf8 = inline && isTextual(f.contentType) && isUtf8(f.body);
      const capture: RawCapturedData = {
        ...base,
        fingerprint,
        request: f.path !== undefined ? { ...base.request, target: f.path } : base.request,
        captureId: uuidv7(),
        ...(scheduledAt !== undefined && { scheduledAt }),
        ...(f.status !== undefined && { status: f.status }),
        contentType: f.contentType.slice(0, 300),
        size: f.body.byteLength,
        sha256,
        headers: f.headers,
        durationMs: Math.max(0, Math.round(durationMs)),
        body: inline ? { storage: 'inline', encoding: utf8 ? 'utf8' : 'base64', data: f.body.toString(utf8 ? 'utf8' : 'base64') } : { storage: 'blob', sha256 },
        capturedAt: this.clock.now().toISOString(),
      };
      const last = f === fetched[fetched.length - 1];
      const { capture: stored } = await this.repo.recordCapture(capture, inline ? undefined : f.body, identity, (c) => (last ? outputsOf([...kept, c]) : undefined), metadata);
      kept.push(stored);
    }
    const outcome = outputsOf(kept);
    await this.repo.rememberOutcome(identity, base.fingerprint, outcome);
    return outcome;
  }
}

function outputsOf(kept: RawCapturedData[]): AttemptOutcome {
  const first = succeeded(kept[0]!);
  if (kept.length === 1 || first.status !== 'succeeded') return first;
  return { status: 'succeeded', outputs: { ...first.outputs, count: kept.length, captures: kept.map((c) => ({ captureId: c.captureId, fingerprint: c.fingerprint, sha256: c.sha256, size: c.size, contentType: c.contentType, target: c.request.target })) } };
}

export function succeeded(c: RawCapturedData): AttemptOutcome {
  return {
    status: 'succeeded',
    outputs: { captureId: c.captureId, fingerprint: c.fingerprint, sha256: c.sha256, size: c.size, ...(c.status !== undefined && { status: c.status }), contentType: c.contentType, source: c.source },
  };
}

/** Who disabled the source, when and why, and how to undo it. */
export function disabledMessage(d: DisabledSource): string {
  const by = d.disabledBy ?? 'an unnamed actor';
  const why = d.reason !== null ? `: ${d.reason}` : ' (no reason given)';
  const workflow = workflowOfSource(d.source);
  const undo =
    d.automated && workflow !== undefined
      ? `resume the workflow (steward workflows resume ${workflow}) or send the collector's enable_source`
      : `send the collector's enable_source { source: "${d.source}" }`;
  return `source ${d.source} is disabled by ${by} since ${d.disabledAt.toISOString()}${why}; to fetch it again, ${undo}`.slice(0, 4000);
}

function withRetryAfter(err: CollectError): string {
  return err.details.retryAfterMs === undefined ? err.message : `${err.message} (retryAfterMs=${err.details.retryAfterMs})`;
}

function isUtf8(body: Buffer): boolean {
  return Buffer.from(body.toString('utf8'), 'utf8').equals(body);
}
