import { ValidationError, type StoredEvent } from '@steward/contracts';
import { compareCursors, START, type Cursor, type EventFilter, type EventStore } from '@steward/event-store';
import { durationMs } from '../http/api.schemas';
import { decodeTimelineCursor, encodeTimelineCursor, type TimelineCursor } from './timeline.cursor';
import { toTimelineEntry, type TimelineEntry } from './timeline-entry.mapper';
import { INITIAL_MARKERS, markerFor, type MarkerState } from './timeline.markers';
import type { TimelineRepository } from './timeline.repository';
import type { SelectorKind } from './timeline.schemas';

export interface TimelineSelector {
  kind: SelectorKind;
  id: string;
}

export interface TimelineQueryInput {
  run?: string;
  correlation?: string;
  workflow?: string;
  alert?: string;
  since?: string;
}

export interface TimelineChunk {
  items: TimelineEntry[];
  /** Where the next read continues; equal to the input cursor when nothing new was readable. */
  cursor: TimelineCursor;
  /** More entries are readable right now. */
  more: boolean;
}

const DEFAULT_LIMIT = 100;
// Marker state for a stream that starts mid-timeline is rebuilt from the
// entries before it; bounded so a huge workflow history cannot stall a stream.
const MARKER_REPLAY_LIMIT = 20_000;

export function selectorOf(q: TimelineQueryInput): TimelineSelector {
  for (const kind of ['run', 'correlation', 'workflow', 'alert'] as const) {
    const id = q[kind];
    if (id !== undefined) return { kind, id };
  }
  throw new ValidationError('give exactly one of run, correlation, workflow, alert', [{ path: 'query', message: 'no selector' }]);
}

/**
 * Everything that belongs to a run, a correlation, a workflow or an alert,
 * across all services, in commit-safe order (EventStore.query): a page never
 * ends before a transaction that may still commit, so the next page cannot
 * skip it.
 */
export class TimelineService {
  constructor(
    private readonly store: EventStore,
    private readonly repository: TimelineRepository,
    private readonly now: () => number = Date.now,
  ) {}

  /** GET /timeline: one page and the opaque cursor of the next one. */
  async page(q: TimelineQueryInput & { cursor?: string; limit?: number }): Promise<{ items: TimelineEntry[]; next?: string }> {
    const selector = selectorOf(q);
    const cursor = q.cursor !== undefined ? decodeTimelineCursor(q.cursor) : this.firstCursor(q);
    const chunk = await this.read(selector, cursor, q.limit ?? DEFAULT_LIMIT);
    return chunk.more ? { items: chunk.items, next: encodeTimelineCursor(chunk.cursor) } : { items: chunk.items };
  }

  /** Where a follower starts: after the entry at `after` (a listing's last position), or at the beginning. */
  async streamStart(q: TimelineQueryInput & { after?: string }): Promise<{ selector: TimelineSelector; cursor: TimelineCursor }> {
    const selector = selectorOf(q);
    const first = this.firstCursor(q);
    if (q.after === undefined) return { selector, cursor: first };
    const at = await this.repository.cursorAt(selector, BigInt(q.after));
    if (!at) {
      throw new ValidationError(`query.after: no entry at position ${q.after} in this timeline`, [
        { path: 'query.after', message: `no entry at position ${q.after} in this timeline` },
      ]);
    }
    return { selector, cursor: { ...first, after: at, markers: await this.markersUpTo(selector, first, at) } };
  }

  /** The next readable entries after `cursor`, at most `limit`. */
  async read(selector: TimelineSelector, cursor: TimelineCursor, limit: number): Promise<TimelineChunk> {
    const from = cursor.fromMs === undefined ? undefined : new Date(cursor.fromMs);
    const { events, more } = await this.fetch(filtersOf(selector, from), cursor.after, limit);
    let markers = cursor.markers;
    const items = events.map((e) => {
      const next = markerFor(e.type, markers);
      markers = next.state;
      return toTimelineEntry(e, next.marker);
    });
    const last = events.at(-1);
    const after = last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : cursor.after;
    return { items, more, cursor: { ...cursor, after, markers } };
  }

  private firstCursor(q: TimelineQueryInput): TimelineCursor {
    const fromMs = q.workflow !== undefined && q.since !== undefined ? this.now() - durationMs(q.since) : undefined;
    return { after: START, markers: INITIAL_MARKERS, ...(fromMs !== undefined && { fromMs }) };
  }

  private async markersUpTo(selector: TimelineSelector, start: TimelineCursor, end: Cursor): Promise<MarkerState> {
    let cursor = start;
    let markers = start.markers;
    for (let seen = 0; seen < MARKER_REPLAY_LIMIT; ) {
      const chunk = await this.read(selector, cursor, 1000);
      for (const item of chunk.items) {
        markers = markerFor(item.type, markers).state;
        seen++;
        if (item.position === Number(end.globalPosition)) return markers;
      }
      if (!chunk.more) return markers;
      cursor = chunk.cursor;
    }
    return markers;
  }

  /**
   * One query per filter, merged in commit-safe order. An alert's timeline is
   * two filters (its own stream, its correlation); both pages start after the
   * same cursor and are cut at `limit`, so the merge is exact.
   */
  private async fetch(filters: EventFilter[], after: Cursor, limit: number): Promise<{ events: StoredEvent[]; more: boolean }> {
    const pages = await Promise.all(filters.map((f) => this.store.query(f, { after, limit })));
    if (pages.length === 1) return { events: pages[0]!.events, more: pages[0]!.next !== undefined };
    const byId = new Map<string, StoredEvent>();
    for (const p of pages) for (const e of p.events) byId.set(e.eventId, e);
    const merged = [...byId.values()].sort(compareCursors);
    return { events: merged.slice(0, limit), more: merged.length > limit || pages.some((p) => p.next !== undefined) };
  }
}

function filtersOf(selector: TimelineSelector, from: Date | undefined): EventFilter[] {
  switch (selector.kind) {
    case 'run':
      return [{ runId: selector.id }];
    case 'correlation':
      return [{ correlationId: selector.id }];
    case 'workflow':
      return [{ workflowId: selector.id, ...(from && { from }) }];
    case 'alert':
      return [{ streamId: `alert-${selector.id}` }, { correlationId: selector.id }];
  }
}
