import { isStewardError, type EventData, type RawCaptured, type RowCounts } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import type { Metrics } from '@steward/observability';
import type { Application, DatasetRepository, QuarantineWrite, RowWrite, Target } from '../datasets/dataset.repository';
import { applyTransform, CaptureTransformError } from '../transforms/transform.apply';
import type { Transform } from '../transforms/transform.define';
import { captureBytes, type BlobSource } from './capture.body';

export type Capture = EventData<typeof RawCaptured>;

export type CaptureOutcome =
  | { status: 'applied'; counts: RowCounts; maxChangePct?: number }
  /** (capture, transform) was applied before, by this or another path: nothing was written again; `counts` are that first application's. */
  | { status: 'already'; counts: RowCounts; maxChangePct?: number; error?: { code: string; message: string } }
  | { status: 'failed'; error: { code: string; message: string } };

export interface BatchResult {
  outcomes: Map<string, CaptureOutcome>;
  totals: RowCounts;
  failed: number;
}

export interface TransformOptions {
  replayId?: string;
  /** Count only: no rows, quarantine or application records are written. */
  dryRun?: boolean;
  /** Live work may make a new dataset's first version current and moves freshness. */
  live: boolean;
  /**
   * Keep (capture, transform) as the key of this work (default true). A
   * replay does not: its inbox (replay, event) is its key, and re-applying a
   * capture another path applied only finds its rows unchanged, so a
   * backfill writes one row less per capture.
   */
  recordApplications?: boolean;
}

const ZERO: RowCounts = { rows: 0, upserted: 0, unchanged: 0, quarantined: 0 };

/**
 * Runs captures through one transform inside the caller's transaction:
 * parse and validate, upsert the rows by key, quarantine the refused ones,
 * record each (capture, transform) once and keep the version's totals. A
 * capture applied before reports its first application's counts and
 * writes nothing (a batch counts its rows as unchanged); a body that
 * cannot be read at all is a failed outcome, never an exception, so one bad
 * capture never halts a batch.
 */
export class CaptureTransformer {
  private readonly rowsCounter: ReturnType<Metrics['counter']> | undefined;

  constructor(
    private readonly datasets: DatasetRepository,
    private readonly blobs: BlobSource | undefined,
    metrics?: Metrics,
  ) {
    this.rowsCounter = metrics?.counter('steward_transformer_rows_total', 'Rows by outcome: upserted, unchanged, quarantined', ['dataset', 'outcome'] as const);
  }

  async transform(tx: Queryable, transform: Transform, captures: Capture[], options: TransformOptions, now: Date): Promise<BatchResult> {
    const target: Target = { dataset: transform.dataset, version: transform.version, transform: transform.ref };
    const outcomes = new Map<string, CaptureOutcome>();
    const unique = [...new Map(captures.map((c) => [c.captureId, c])).values()];
    const keyed = !options.dryRun && options.recordApplications !== false;
    if (keyed) this.markAlready(outcomes, await this.datasets.findApplications(tx, transform.ref, unique.map((c) => c.captureId)));
    const pending = unique.filter((c) => !outcomes.has(c.captureId));

    // Parse and validate first (no locks held), then write. Later captures win a key; an
    // older capture never overwrites a newer row (also enforced in SQL).
    const rowsByKey = new Map<string, RowWrite>();
    const quarantineOf = new Map<string, QuarantineWrite[]>();
    const perCapture = new Map<string, { total: number; valid: string[]; quarantined: number }>();
    for (const capture of pending) {
      try {
        const body = await captureBytes(capture.body, this.blobs, tx);
        const out = applyTransform(transform, body, { captureId: capture.captureId, source: capture.source, contentType: capture.contentType, capturedAt: capture.capturedAt });
        perCapture.set(capture.captureId, { total: out.total, valid: out.rows.map((r) => r.key), quarantined: out.quarantined.length });
        for (const row of out.rows) {
          const prev = rowsByKey.get(row.key);
          if (prev === undefined || Date.parse(prev.capturedAt) <= Date.parse(capture.capturedAt)) rowsByKey.set(row.key, { ...row, captureId: capture.captureId, capturedAt: capture.capturedAt });
        }
        quarantineOf.set(capture.captureId, out.quarantined.map((q) => ({ ...q, captureId: capture.captureId })));
      } catch (err) {
        const error = failureOf(err);
        if (!error) throw err;
        outcomes.set(capture.captureId, { status: 'failed', error });
      }
    }

    const rows = [...rowsByKey.values()];
    let maxChangePct: number | undefined;
    if (transform.changeField !== undefined && pending.length === 1 && rows.length > 0) {
      maxChangePct = maxChange(rows, await this.datasets.previousValues(tx, target, rows.map((r) => r.key), transform.changeField), transform.changeField);
    }
    const written = options.dryRun ? await this.datasets.wouldWrite(tx, target, rows) : await this.datasets.upsertRows(tx, target, rows, now);

    // A row counts as upserted for the capture whose version of it was written.
    for (const [id, c] of perCapture) {
      const upserted = c.valid.filter((key) => written.keys.has(key) && rowsByKey.get(key)?.captureId === id).length;
      outcomes.set(id, { status: 'applied', counts: { rows: c.total, upserted, unchanged: c.valid.length - upserted, quarantined: c.quarantined }, ...(maxChangePct !== undefined && { maxChangePct }) });
    }
    let claimed = new Set(perCapture.keys());
    if (keyed) {
      const pendingIds = new Set(pending.map((c) => c.captureId));
      const fresh = [...outcomes].filter(([id]) => pendingIds.has(id));
      claimed = await this.datasets.recordApplications(tx, target, fresh.map(([captureId, o]) => (o.status === 'failed' ? { captureId, error: o.error } : { captureId, counts: (o as { counts: RowCounts }).counts, ...(maxChangePct !== undefined && { maxChangePct }) })), options.replayId, now);
      // Lost a race with another path over the same capture: its effects are the same, its record stands.
      const lost = fresh.map(([id]) => id).filter((id) => !claimed.has(id));
      if (lost.length > 0) this.markAlready(outcomes, await this.datasets.findApplications(tx, transform.ref, lost));
    }
    if (!options.dryRun) {
      const quarantine = [...claimed].flatMap((id) => quarantineOf.get(id) ?? []);
      const quarantined = await this.datasets.quarantine(tx, target, quarantine, options.replayId, now);
      await this.datasets.recordCompletion(tx, target, { inserted: written.inserted, quarantined, captures: [...claimed].filter((id) => perCapture.has(id)).length }, { live: options.live, ...(options.replayId !== undefined && { replayId: options.replayId }) }, now);
    }

    const totals: RowCounts = { rows: 0, upserted: 0, unchanged: 0, quarantined: 0 };
    let failed = 0;
    for (const o of outcomes.values()) {
      if (o.status === 'failed') {
        failed += 1;
        continue;
      }
      totals.rows += o.counts.rows;
      totals.quarantined += o.counts.quarantined;
      // Seen before (a second replay, or live then step): its rows are there already, so all unchanged.
      const upserted = o.status === 'applied' ? o.counts.upserted : 0;
      totals.upserted += upserted;
      totals.unchanged += o.counts.rows - o.counts.quarantined - upserted;
    }
    if (!options.dryRun && this.rowsCounter) {
      this.rowsCounter.inc({ dataset: transform.dataset, outcome: 'upserted' }, totals.upserted);
      this.rowsCounter.inc({ dataset: transform.dataset, outcome: 'unchanged' }, totals.unchanged);
      this.rowsCounter.inc({ dataset: transform.dataset, outcome: 'quarantined' }, totals.quarantined);
    }
    return { outcomes, totals, failed };
  }

  private markAlready(outcomes: Map<string, CaptureOutcome>, earlier: Map<string, Application>): void {
    for (const [id, app] of earlier) {
      outcomes.set(id, { status: 'already', counts: app.counts ?? ZERO, ...(app.maxChangePct !== null && { maxChangePct: app.maxChangePct }), ...(app.error && { error: app.error }) });
    }
  }
}

function failureOf(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof CaptureTransformError) return { code: err.code, message: err.message.slice(0, 4000) };
  // A blob the capture names but the store lacks will not appear by retrying.
  if (isStewardError(err) && err.code === 'not_found') return { code: 'body_missing', message: err.message.slice(0, 4000) };
  return undefined;
}

function maxChange(rows: RowWrite[], previous: Map<string, number>, field: string): number | undefined {
  let max: number | undefined;
  for (const r of rows) {
    const before = previous.get(r.key);
    const after = Number(r.data[field]);
    if (before === undefined || before === 0 || !Number.isFinite(after)) continue;
    const pct = (Math.abs(after - before) / Math.abs(before)) * 100;
    max = Math.max(max ?? 0, pct);
  }
  return max === undefined ? undefined : Math.round(max * 100) / 100;
}
