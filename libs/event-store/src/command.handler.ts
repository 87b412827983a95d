import { ConcurrencyError, type EventMetadata, type EventRegistry, type NewEvent, type StoredEvent } from '@steward/contracts';
import type { AppendResult, EventStore } from './event.store';
import type { PendingAppends } from './pending.appends';
import { isPool, type Queryable } from './pool.factory';

/** An aggregate as plain functions: no I/O, time and ids arrive inside the command. */
export interface Decider<State, Command, E = unknown> {
  initialState: () => State;
  evolve: (state: State, event: StoredEvent<E>) => State;
  decide: (command: Command, state: State) => NewEvent<E>[];
}

export interface HandleCommandOptions {
  /** Further attempts after a concurrency conflict; default 3. */
  maxRetries?: number;
  /** Merged under each decided event's own metadata (correlation, causation, trace). */
  metadata?: EventMetadata;
  /** Run inside the caller's transaction (e.g. processOnce). */
  tx?: Queryable;
  /**
   * The stream is expected not to exist yet (a new run): the first attempt
   * decides on the initial state without reading and appends with
   * `no_stream`; if the stream exists after all, the usual
   * read-decide-append follows. Saves the read of an empty stream.
   */
  expectNew?: boolean;
  /**
   * The stream as the caller read it in this transaction (e.g. in one
   * statement with a row it needed anyway): the first attempt decides on it
   * instead of reading the stream; a conflict's retry reads it again.
   */
  history?: StoredEvent[];
  /**
   * Hold the append for the batch's single write (InboxBatcher): inside
   * `tx` only. A conflict then surfaces when the batch flushes, failing the
   * batch, whose messages are retried one by one. A stream with held events
   * is flushed before it is read.
   */
  later?: PendingAppends;
}

/**
 * The one command handler: read the stream, fold it, decide, append with the
 * version that was read. A conflict means another writer got in between, so
 * the whole read-decide-append runs again on the newer state, a bounded
 * number of times, then the ConcurrencyError reaches the caller.
 */
export async function handleCommand<State, Command, E = unknown>(
  store: EventStore,
  streamId: string,
  decider: Decider<State, Command, E>,
  command: Command,
  options: HandleCommandOptions = {},
): Promise<AppendResult> {
  const blindFirst = options.expectNew === true;
  // The blind attempt's conflict is no lost race: the retries after it are as many as without it.
  const maxRetries = (options.maxRetries ?? 3) + (blindFirst ? 1 : 0);
  const { tx } = options;
  // Inside a transaction a conflict comes back from tryAppend as a result,
  // so the transaction needs no savepoint to survive it and retry.
  const inTransaction = tx !== undefined && !isPool(tx);
  const later = inTransaction ? options.later : undefined;
  let given = options.history;
  if (later?.touches(streamId)) {
    // The stream moved in this batch: what the caller read may be older than what is held.
    await later.flush(tx!);
    given = undefined;
  }
  for (let attempt = 0; ; attempt++) {
    const blind = blindFirst && attempt === 0;
    const history = blind ? [] : attempt === 0 && given !== undefined ? given : await store.readStream(streamId, { tx });
    const state = history.reduce(
      (s, e) => decider.evolve(s, upcast(store.registry, e) as StoredEvent<E>),
      decider.initialState(),
    );
    const version = history.at(-1)?.streamVersion ?? null;
    let decided: NewEvent<E>[];
    try {
      decided = decider.decide(command, state);
    } catch (err) {
      // Refused on the assumed state: only the stream's real state may refuse it.
      if (blind) continue;
      throw err;
    }
    if (decided.length === 0) {
      if (blind) continue;
      return { streamId, nextExpectedVersion: version ?? 0, events: [] };
    }
    const events = options.metadata
      ? decided.map((e) => ({ ...e, metadata: { ...options.metadata, ...e.metadata } }))
      : decided;
    const expected = version ?? 'no_stream';
    if (later !== undefined) return later.add(streamId, events, expected);
    if (inTransaction) {
      const result = await store.tryAppend(streamId, events, { expected, tx });
      if (!result.conflict) return { streamId: result.streamId, nextExpectedVersion: result.nextExpectedVersion, events: result.events };
      if (attempt >= maxRetries) throw new ConcurrencyError(streamId, String(expected), result.actual);
      continue;
    }
    try {
      return await store.append(streamId, events, { expected, tx });
    } catch (err) {
      if (!(err instanceof ConcurrencyError) || attempt >= maxRetries) throw err;
    }
  }
}

/** Deciders only ever see the current shape of an event; the stored row is never rewritten. */
function upcast(registry: EventRegistry | undefined, e: StoredEvent): StoredEvent {
  if (!registry?.has(e.type)) return e;
  const current = registry.get(e.type).version;
  if (e.schemaVersion >= current) return e;
  const { version, data } = registry.upcast(e.type, e.schemaVersion, e.data);
  return { ...e, schemaVersion: version, data };
}
