import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Headers, RawCaptured, uuidv7, type Subjects } from '@steward/contracts';
import type { EventStore } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';

/** A valid `collection.raw_captured` payload for `source`, captured at `capturedAt`. */
export function captureData(source: string, capturedAt: Date, n: number, workflowId?: string): Record<string, unknown> {
  const body = JSON.stringify({ n, price: n * 3 });
  const sha = createHash('sha256').update(body).digest('hex');
  return {
    captureId: uuidv7(),
    source,
    ...(workflowId !== undefined && { workflowId, stepId: 'fetch', runId: `run-${n}`, attempt: 1 }),
    fingerprint: createHash('sha256').update(`${source}:${n}:${capturedAt.toISOString()}`).digest('hex'),
    request: { kind: 'http', target: `https://example.test/${source}?n=${n}`, method: 'GET' },
    status: 200,
    contentType: 'application/json',
    size: body.length,
    sha256: sha,
    headers: { 'content-type': 'application/json' },
    durationMs: 3,
    body: { storage: 'inline', encoding: 'utf8', data: body },
    capturedAt: capturedAt.toISOString(),
  };
}

/** Appends `count` captures (100 per transaction), the i-th captured at `at(i)`; returns their event ids in order. */
export async function appendCaptures(store: EventStore, source: string, count: number, at: (i: number) => Date, workflowId?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, k) => ({
      id: uuidv7(),
      type: RawCaptured.type,
      data: captureData(source, at(i + k), i + k, workflowId),
    }));
    // One stream per capture in production; one per batch is enough here and 100x fewer round trips.
    await store.append(`capture-${source}-${uuidv7()}`, batch, { expected: 'no_stream' });
    ids.push(...batch.map((e) => e.id));
  }
  return ids;
}

export function command(name: string, payload: unknown, actor = 'ana'): CommandEnvelope {
  const commandId = uuidv7();
  return { commandId, service: 'ledger', name, payload, actor, correlationId: commandId, issuedAt: new Date().toISOString() };
}

export interface ReplayedMessage {
  subject: string;
  msgId: string;
  body: string;
  transactionId: bigint;
  globalPosition: bigint;
}

/** Everything on the REPLAY stream under `replayId`, in stream order (an ordered consumer reads it from the start). */
export async function replayedMessages(nc: NatsConnection, subjects: Subjects, replayId: string): Promise<ReplayedMessage[]> {
  // One filter subject as a string: NATS 2.9 has no multi-filter consumers.
  const consumer = await jetstream(nc).consumers.get(subjects.stream('REPLAY'), { filter_subjects: subjects.replay(replayId) });
  const out: ReplayedMessage[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let pending = 0;
      let n = 0;
      for await (const m of batch) {
        n++;
        pending = m.info.pending;
        const body = m.string();
        const parsed = JSON.parse(body) as { transactionid: string; globalposition: string };
        out.push({ subject: m.subject, msgId: m.headers?.get(Headers.MsgId) ?? '', body, transactionId: BigInt(parsed.transactionid), globalPosition: BigInt(parsed.globalposition) });
      }
      if (n === 0 || pending === 0) return out;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
