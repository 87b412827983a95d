import type { StoredEvent } from '@steward/contracts';
import type { TimelineMarker } from './timeline.markers';
import { redactData, summarise } from './timeline.summary';

export const TimelineMarkerValues = ['first_failure', 'detection', 'acknowledgement', 'mitigation', 'resolution'] as const;

/** One entry of GET /timeline, as the CLI's TimelineEntry type expects it. */
export interface TimelineEntry {
  id: string;
  /** The global position: what `timeline/stream?after=` takes. */
  position: number;
  time: string;
  /** The service that recorded the event (metadata.source). */
  service: string;
  type: string;
  streamId: string;
  actor: string | null;
  summary: string;
  causationId: string | null;
  correlationId: string | null;
  data: unknown;
  marker?: TimelineMarker;
}

export function toTimelineEntry(e: StoredEvent, marker: TimelineMarker | undefined): TimelineEntry {
  const m = e.metadata;
  return {
    id: e.eventId,
    position: Number(e.globalPosition),
    time: e.occurredAt.toISOString(),
    service: m.source ?? 'unknown',
    type: e.type,
    streamId: e.streamId,
    actor: m.actor ?? null,
    summary: summarise(e.type, e.data),
    causationId: m.causationId ?? null,
    correlationId: m.correlationId ?? null,
    data: redactData(e.data),
    ...(marker !== undefined && { marker }),
  };
}
