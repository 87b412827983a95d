import { jetstream } from '@nats-io/jetstream';
import { uuidv7, type EventEnvelope, type Subjects } from '@steward/contracts';
import type { EventStore } from '@steward/event-store';
import { envelopeHeaders } from '@steward/messaging';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CaptureData } from './transformer.harness';

/** A capture as the ledger re-publishes it: the stored envelope, unchanged. */
export function captureEnvelope(capture: CaptureData): EventEnvelope {
  return {
    specversion: '1.0',
    id: uuidv7(),
    source: 'collector',
    type: 'collection.raw_captured',
    time: capture.capturedAt,
    datacontenttype: 'application/json',
    dataschemaversion: 1,
    streamid: `capture-${capture.fingerprint}`,
    streamversion: 1,
    correlationid: capture.captureId,
    data: capture,
  };
}

/** What the ledger does for a backfill, reduced to its messages: replay.started, the captures on the replay subject, replay.published. */
export class LedgerStandIn {
  constructor(
    private readonly store: EventStore,
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
  ) {}

  async started(replayId: string, transform: string, total: number, dryRun = false): Promise<void> {
    await this.store.append(
      `replay-${replayId}`,
      [
        {
          type: 'replay.started',
          data: { replayId, kind: 'backfill', selection: { types: ['collection.raw_captured'], source: 'bulk.prices' }, consumer: 'transformer', transform, dryRun, total, upTo: { transactionId: '1', position: '1' }, requestedBy: 'tester', startedAt: new Date().toISOString() },
          metadata: { correlationId: replayId },
        },
      ],
      { expected: 'no_stream' },
    );
  }

  async publish(replayId: string, envelopes: EventEnvelope[], chunk = 500): Promise<void> {
    const js = jetstream(this.nc);
    const subject = this.subjects.replay(replayId, 'collection.raw_captured');
    for (let i = 0; i < envelopes.length; i += chunk) {
      await Promise.all(
        envelopes.slice(i, i + chunk).map((e) => js.publish(subject, new TextEncoder().encode(JSON.stringify(e)), { msgID: `${replayId}:${e.id}`, headers: envelopeHeaders(e) })),
      );
    }
  }

  async published(replayId: string, total: number): Promise<void> {
    await this.store.append(`replay-${replayId}`, [{ type: 'replay.published', data: { replayId, published: total, total, durationMs: 1, at: new Date().toISOString() }, metadata: { correlationId: replayId } }], { expected: 'exists' });
  }
}
