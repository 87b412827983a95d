import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { toEnvelope, type StoredEvent, type Subjects } from '@steward/contracts';
import { START, type Cursor, type EventStore, type Queryable } from '@steward/event-store';
import { eventually } from './eventually';

export interface RebuildReplay {
  replayId: string;
  total: number;
  upTo: { transactionId: string; position: string };
}

/**
 * What the ledger does for `steward replay start --rebuild <consumer>`,
 * reduced for in-process tests (services never import the ledger): every
 * stored event of `types` (all when omitted) up to now, in commit-safe order,
 * onto `steward.replay.<id>.<type>`, then `replay.started` with the total and
 * the frozen end.
 */
export async function startRebuildReplay(
  store: EventStore,
  nc: NatsConnection,
  subjects: Subjects,
  options: { replayId: string; consumer: string; types?: readonly string[]; db: Queryable },
): Promise<RebuildReplay> {
  const js = jetstream(nc);
  // Everything appended so far must be commit-safe (an open transaction anywhere on the server holds the tail back), or the replay would miss what the live projection has.
  const { rows } = await options.db.query<{ max: string | null }>('SELECT max(global_position)::text AS max FROM events');
  const lastPosition = BigInt(rows[0]?.max ?? 0);
  await eventually(async () => {
    if ((await store.headPosition()).globalPosition < lastPosition) throw new Error('the store tail is not commit-safe yet');
  }, 30_000);
  const wanted = options.types && new Set(options.types);
  let cursor: Cursor = START;
  let last: StoredEvent | undefined;
  let total = 0;
  const seen = new Set<string>();
  for (;;) {
    const page = await store.readAll(cursor, { limit: 500 });
    if (page.events.length === 0) break;
    for (const e of page.events) {
      last = e;
      if (wanted && !wanted.has(e.type)) continue;
      seen.add(e.type);
      await js.publish(subjects.replay(options.replayId, e.type), JSON.stringify(toEnvelope(e)), { msgID: `${options.replayId}:${e.eventId}` });
      total++;
    }
    cursor = page.cursor;
  }
  const upTo = { transactionId: (last?.transactionId ?? 0n).toString(), position: (last?.globalPosition ?? 0n).toString() };
  await store.append(`replay-${options.replayId}`, [{
    type: 'replay.started',
    data: { replayId: options.replayId, kind: 'rebuild', selection: { types: [...(options.types ?? (seen.size > 0 ? [...seen].sort() : ['(none)']))] }, consumer: options.consumer, dryRun: false, total, upTo, startedAt: new Date().toISOString() },
  }], { expected: 'no_stream' });
  return { replayId: options.replayId, total, upTo };
}
