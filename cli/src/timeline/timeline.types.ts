/** Incident markers the gateway puts on timeline entries (the postmortem milestones). */
export type TimelineMarker = 'first_failure' | 'detection' | 'acknowledgement' | 'mitigation' | 'resolution';

/** One entry of `GET /timeline`, as the API contract defines it. */
export interface TimelineEntry {
  id: string;
  position: number | string;
  time: string;
  service: string;
  type: string;
  streamId: string;
  actor?: string | null;
  summary?: string | null;
  causationId?: string | null;
  correlationId?: string | null;
  data?: unknown;
  marker?: TimelineMarker | null;
}

export type TimelineSubjectKind = 'run' | 'correlation' | 'workflow' | 'alert';

/** What the timeline is of: exactly one selector. */
export interface TimelineSubject {
  kind: TimelineSubjectKind;
  id: string;
  /** Only for workflows: how far back (`1h`). */
  since?: string;
}

export const MARKER_LABEL: Record<TimelineMarker, string> = {
  first_failure: 'First failure',
  detection: 'Detected',
  acknowledgement: 'Acknowledged',
  mitigation: 'Mitigation',
  resolution: 'Resolved',
};

export function markerLabel(marker: string | null | undefined): string | undefined {
  return marker ? (MARKER_LABEL[marker as TimelineMarker] ?? marker) : undefined;
}
