import type { Pool } from 'pg';
import { CollectionFailed, ConcurrencyError, RawCaptured, type EventData, type EventMetadata } from '@steward/contracts';
import { unitOfWork, type BlobStore, type EventStore } from '@steward/event-store';

export type RawCapturedData = EventData<typeof RawCaptured>;
export type CollectionFailedData = EventData<typeof CollectionFailed>;

export interface AttemptKey {
  runId: string;
  stepId: string;
  attempt: number;
}

/** What an attempt came to, as it was reported to the executor. */
export type AttemptOutcome =
  | { status: 'succeeded'; outputs: Record<string, unknown> }
  | { status: 'failed'; error: { code: string; message: string; retryable: boolean; retryAfterMs?: number } };

export const captureStream = (fingerprint: string) => `capture-${fingerprint}`;
export const failureStream = (fingerprint: string) => `collection-${fingerprint}`;

/**
 * The collector's reads and writes: captures (stream `capture-<fingerprint>`,
 * appended once with no_stream), failures (stream `collection-<fingerprint>`),
 * blobs, and the outcome of each attempt, recorded together.
 */
export class CaptureRepository {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly blobs: BlobStore,
  ) {}

  async findCapture(fingerprint: string): Promise<RawCapturedData | undefined> {
    const events = await this.store.readStream(captureStream(fingerprint));
    const first = events.find((e) => e.type === RawCaptured.type);
    return first?.data as RawCapturedData | undefined;
  }

  async findAttemptOutcome(key: AttemptKey): Promise<AttemptOutcome | undefined> {
    const { rows } = await this.pool.query<{ outcome: AttemptOutcome }>('SELECT outcome FROM collector_attempts WHERE run_id = $1 AND step_id = $2 AND attempt = $3', [key.runId, key.stepId, key.attempt]);
    return rows[0]?.outcome;
  }

  /** The scheduled occurrence time of a run, from its run.requested (scheduled runs only). */
  async occurrenceOf(runId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ at: string | null }>(
      "SELECT data->'occurrence'->>'at' AS at FROM events WHERE stream_id = $1 AND type = 'run.requested' ORDER BY stream_version LIMIT 1",
      [`run-${runId}`],
    );
    return rows[0]?.at ?? undefined;
  }

  /**
   * Keeps the capture (its blob first, when it has one) and the attempt's
   * outcome in one transaction. When another delivery kept a capture with
   * this fingerprint first, nothing is written and that capture is returned.
   */
  async recordCapture(capture: RawCapturedData, blob: Buffer | undefined, key: AttemptKey, outcomeOf: (c: RawCapturedData) => AttemptOutcome | undefined, metadata: EventMetadata): Promise<{ capture: RawCapturedData; created: boolean }> {
    try {
      await unitOfWork(this.pool, async (tx) => {
        if (blob !== undefined) await this.blobs.put(blob, { tx, sha256: capture.sha256 });
        await this.store.append(captureStream(capture.fingerprint), [{ type: RawCaptured.type, data: capture, metadata }], { expected: 'no_stream', tx });
        const outcome = outcomeOf(capture);
        if (outcome) await this.saveOutcome(tx, key, capture.fingerprint, outcome);
      });
      return { capture, created: true };
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
      const existing = await this.findCapture(capture.fingerprint);
      if (!existing) throw err;
      const outcome = outcomeOf(existing);
      if (outcome) await this.saveOutcome(this.pool, key, existing.fingerprint, outcome);
      return { capture: existing, created: false };
    }
  }

  /** Records one failed fetch; `final` (the attempt ends with it) also records the attempt's outcome. */
  async recordFailure(failure: CollectionFailedData, key: AttemptKey, outcome: AttemptOutcome | undefined, metadata: EventMetadata): Promise<void> {
    await unitOfWork(this.pool, async (tx) => {
      await this.store.append(failureStream(failure.fingerprint), [{ type: CollectionFailed.type, data: failure, metadata }], { expected: 'any', tx });
      if (outcome !== undefined) await this.saveOutcome(tx, key, failure.fingerprint, outcome);
    });
  }

  /** Records the attempt's outcome on its own (the first record wins). */
  rememberOutcome(key: AttemptKey, fingerprint: string, outcome: AttemptOutcome): Promise<void> {
    return this.saveOutcome(this.pool, key, fingerprint, outcome);
  }

  private async saveOutcome(db: Pick<Pool, 'query'>, key: AttemptKey, fingerprint: string, outcome: AttemptOutcome): Promise<void> {
    await db.query('INSERT INTO collector_attempts (run_id, step_id, attempt, fingerprint, outcome) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [
      key.runId,
      key.stepId,
      key.attempt,
      fingerprint,
      JSON.stringify(outcome),
    ]);
  }
}
