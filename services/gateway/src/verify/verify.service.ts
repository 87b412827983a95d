import { CheckpointStore, START, compareCursors, type Cursor, type EventStore } from '@steward/event-store';
import type { Logger } from '@steward/observability';
import type { EventStreamReader, StreamStart } from './event-stream.reader';
import type { CheckResult, ProjectionChecker } from './projection.checker';
import { compareStoreWithStream, type StoreItem, type StreamItem } from './publish-consistency';
import type { VerifyRepository } from './verify.repository';

export interface VerifyCheck extends CheckResult {
  name: string;
}

export interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  since?: string;
  checks: VerifyCheck[];
}

export interface VerifyDeps {
  /** On the read pool. */
  store: EventStore;
  checkpoints: CheckpointStore;
  repository: VerifyRepository;
  reader: EventStreamReader;
  relayName: string;
  maxRelayLagMs: number;
  checkers: ProjectionChecker[];
  logger: Logger;
  now?: () => number;
}

const PAGE = 1000;
const show = (c: Cursor) => `${c.transactionId}/${c.globalPosition}`;
const before = (c: Cursor): Cursor => ({ transactionId: c.transactionId, globalPosition: c.globalPosition - 1n });

async function* none(): AsyncGenerator<StreamItem> {}

/**
 * `steward verify`: the store, JetStream and every registered projection
 * agree. Each check reports on its own; one that throws is a failed check,
 * not a failed request, so the report always says what could be checked.
 */
export class VerifyService {
  private readonly now: () => number;

  constructor(private readonly deps: VerifyDeps) {
    this.now = deps.now ?? Date.now;
  }

  async run(sinceMs?: number): Promise<VerifyReport> {
    const since = sinceMs === undefined ? undefined : new Date(this.now() - sinceMs);
    const checks: VerifyCheck[] = [
      await this.guard('store-vs-jetstream', () => this.publishedExactlyOnce(since)),
      await this.guard('relay-lag', () => this.relayLag()),
    ];
    for (const checker of this.deps.checkers) checks.push(await this.guard(`projection:${checker.name}`, () => checker.check()));
    return { ok: checks.every((c) => c.ok), checkedAt: new Date(this.now()).toISOString(), ...(since && { since: since.toISOString() }), checks };
  }

  private async guard(name: string, check: () => Promise<CheckResult>): Promise<VerifyCheck> {
    try {
      return { name, ...(await check()) };
    } catch (err) {
      this.deps.logger.warn('verify check failed to run', { check: name, err });
      return { name, ok: false, detail: `could not run: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /**
   * Every event up to the relay checkpoint is in the EVENTS stream exactly
   * once and in commit-safe order. The checkpoint, the stream's last
   * sequence and the store head are read in that order, so everything up to
   * the checkpoint was published before the stream snapshot was taken.
   */
  private async publishedExactlyOnce(since: Date | undefined): Promise<CheckResult> {
    const { reader, store, repository } = this.deps;
    const checkpoint = await this.deps.checkpoints.load(this.deps.relayName);
    const state = await reader.state();
    if (!state) return { ok: false, detail: `stream ${reader.stream} does not exist` };
    const head = await store.headPosition();

    let start: StreamStart = { kind: 'all' };
    let storeAfter: Cursor = START;
    let note = '';
    if (since) {
      start = { kind: 'time', time: since };
      const first = state.messages > 0 ? await reader.first(start) : undefined;
      const firstStored = (await store.query({ from: since }, { limit: 1 })).events[0];
      const starts = [first?.cursor, firstStored].filter((c): c is Cursor => c !== undefined).sort(compareCursors);
      storeAfter = starts[0] ? before(starts[0]) : head;
    } else if (state.firstSeq > 1 && state.messages > 0) {
      // Messages older than the stream's max age are gone; compare from the oldest one kept.
      start = { kind: 'seq', seq: state.firstSeq };
      const first = await reader.first(start);
      if (first?.cursor) storeAfter = before(first.cursor);
      note = `; the stream keeps messages from seq ${state.firstSeq} on`;
    }
    const report = await compareStoreWithStream(
      this.storeItems(storeAfter, head),
      state.messages > 0 ? reader.read(start, state.lastSeq) : none(),
      checkpoint,
      (id) => repository.locate(id),
    );
    const problems = (['missing', 'duplicated', 'outOfOrder', 'unknown'] as const).filter((k) => report[k].count > 0);
    const ok = problems.length === 0;
    const detail = ok
      ? `${report.matched} events published exactly once, in commit order (checkpoint ${show(checkpoint)}${note})`
      : `${problems.map((k) => `${report[k].count} ${k === 'outOfOrder' ? 'out of order' : k}`).join(', ')} (${report.storeEvents} stored, ${report.streamMessages} published${note})`;
    return { ok, detail, stream: reader.stream, checkpoint: show(checkpoint), head: show(head), ...report };
  }

  private async relayLag(): Promise<CheckResult> {
    const checkpoint = await this.deps.checkpoints.load(this.deps.relayName);
    const head = await this.deps.store.headPosition();
    const backlog = await this.deps.repository.unpublishedAfter(checkpoint);
    const ageMs = backlog.oldest ? Math.max(0, this.now() - backlog.oldest.getTime()) : 0;
    const ok = ageMs <= this.deps.maxRelayLagMs;
    const detail =
      backlog.count === 0
        ? `the relay checkpoint (${this.deps.relayName}) is at the store head ${show(checkpoint)}`
        : `${backlog.capped ? 'at least ' : ''}${backlog.count} events not published yet; the oldest has waited ${Math.round(ageMs / 1000)}s` +
          (ok ? '' : ` (limit ${Math.round(this.deps.maxRelayLagMs / 1000)}s): is the ledger running?`);
    return {
      ok,
      detail,
      checkpoint: show(checkpoint),
      head: show(head),
      lagEvents: backlog.count,
      oldestUnpublishedAgeSeconds: Math.round(ageMs / 1000),
    };
  }

  private async *storeItems(after: Cursor, head: Cursor): AsyncGenerator<StoreItem> {
    let cursor = after;
    for (;;) {
      const page = await this.deps.store.readAll(cursor, { limit: PAGE });
      for (const e of page.events) {
        if (compareCursors(e, head) > 0) return;
        yield { id: e.eventId, cursor: { transactionId: e.transactionId, globalPosition: e.globalPosition } };
      }
      if (page.events.length < PAGE) return;
      cursor = page.cursor;
    }
  }
}
