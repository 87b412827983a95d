import { compareCursors, type Cursor } from '@steward/event-store';

/** A stored event as the walk sees it. */
export interface StoreItem {
  id: string;
  cursor: Cursor;
}

/** A message of the EVENTS stream: the envelope's event id and the store position its headers claim. */
export interface StreamItem {
  seq: number;
  id: string;
  cursor?: Cursor;
}

export interface Finding {
  count: number;
  /** The first few, enough to start an investigation. */
  examples: Array<{ id: string; position?: string; seq?: number }>;
}

export interface ConsistencyReport {
  storeEvents: number;
  streamMessages: number;
  matched: number;
  /** Stored (up to the relay checkpoint or before a later published event) but never published. */
  missing: Finding;
  /** Published more than once. */
  duplicated: Finding;
  /** Published, but after an event that committed later. */
  outOfOrder: Finding;
  /** In the stream, but not in the store at the position it claims. */
  unknown: Finding;
  /** Stored after the relay checkpoint and not published yet: lag, not an error. */
  unpublished: number;
}

const EXAMPLES = 5;
// Ids kept to recognise a late publish of a "missing" event; past this only counts grow.
const MAX_TRACKED_MISSING = 100_000;

const show = (c: Cursor) => `${c.transactionId}/${c.globalPosition}`;

function finding(): Finding {
  return { count: 0, examples: [] };
}

function note(f: Finding, example: Finding['examples'][number]): void {
  f.count++;
  if (f.examples.length < EXAMPLES) f.examples.push(example);
}

/**
 * Walks the store (commit-safe order) and the stream (sequence order) in
 * step, in memory bounded by the findings rather than by the log. When the
 * relay works, both sequences are the same ids in the same order; every
 * deviation is classified:
 * - the stream jumps ahead of the store: the store events skipped are missing;
 * - the stream goes backwards: a late publish of a missing event is out of
 *   order, a second publish of a matched one is a duplicate;
 * - a message whose event is not at the position it claims is unknown.
 * `locate` finds an event's position by id, for the rare message that needs it.
 */
export async function compareStoreWithStream(
  store: AsyncIterable<StoreItem>,
  stream: AsyncIterable<StreamItem>,
  checkpoint: Cursor,
  locate: (id: string) => Promise<Cursor | undefined>,
): Promise<ConsistencyReport> {
  const report: ConsistencyReport = {
    storeEvents: 0,
    streamMessages: 0,
    matched: 0,
    missing: finding(),
    duplicated: finding(),
    outOfOrder: finding(),
    unknown: finding(),
    unpublished: 0,
  };
  const missing = new Map<string, Cursor>();
  const it = store[Symbol.asyncIterator]();
  const pull = async (): Promise<StoreItem | undefined> => {
    const r = await it.next();
    if (r.done) return undefined;
    report.storeEvents++;
    return r.value;
  };
  const skip = (item: StoreItem) => {
    if (missing.size < MAX_TRACKED_MISSING) missing.set(item.id, item.cursor);
    note(report.missing, { id: item.id, position: show(item.cursor) });
  };

  let current = await pull();
  let last: Cursor | undefined;
  for await (const m of stream) {
    report.streamMessages++;
    const claimed = m.cursor ?? (await locate(m.id));
    if (!claimed) {
      note(report.unknown, { id: m.id, seq: m.seq });
      continue;
    }
    if (last && compareCursors(claimed, last) <= 0) {
      if (missing.delete(m.id)) {
        report.missing.count--;
        report.missing.examples = report.missing.examples.filter((e) => e.id !== m.id);
        note(report.outOfOrder, { id: m.id, seq: m.seq, position: show(claimed) });
        continue;
      }
      const real = await locate(m.id);
      if (real && compareCursors(real, claimed) === 0) note(report.duplicated, { id: m.id, seq: m.seq, position: show(real) });
      else note(report.unknown, { id: m.id, seq: m.seq });
      continue;
    }
    while (current && compareCursors(current.cursor, claimed) < 0) {
      skip(current);
      current = await pull();
    }
    if (current && compareCursors(current.cursor, claimed) === 0 && current.id === m.id) {
      report.matched++;
      last = claimed;
      current = await pull();
    } else {
      note(report.unknown, { id: m.id, seq: m.seq, position: show(claimed) });
    }
  }
  // What the stream never reached: missing up to the checkpoint (the relay said it published it), lag after.
  while (current) {
    if (compareCursors(current.cursor, checkpoint) <= 0) skip(current);
    else report.unpublished++;
    current = await pull();
  }
  return report;
}
