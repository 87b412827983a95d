/** The postmortem milestones a timeline entry can carry. */
export type TimelineMarker = 'first_failure' | 'detection' | 'acknowledgement' | 'mitigation' | 'resolution';

/**
 * What the marker rules need to remember from earlier entries. It travels in
 * the page cursor, so page 5 still knows whether page 1 had the first failure.
 */
export interface MarkerState {
  firstFailureMarked: boolean;
  /** A failure happened and nothing resolved it yet: the next success is the resolution. */
  failing: boolean;
}

export const INITIAL_MARKERS: MarkerState = Object.freeze({ firstFailureMarked: false, failing: false });

const FAILURE = /\.(failed|timed_out|dead_lettered)$/;
const MITIGATION = /(paused|cancelled|canceled|requeued|mitigat|disabled)/;
const DETECTION = new Set(['alert.firing', 'alert.fired']);

/** The marker an event of `type` gets, given what came before it, and the state after it. */
export function markerFor(type: string, state: MarkerState): { marker?: TimelineMarker; state: MarkerState } {
  if (FAILURE.test(type)) {
    return state.firstFailureMarked
      ? { state: { ...state, failing: true } }
      : { marker: 'first_failure', state: { firstFailureMarked: true, failing: true } };
  }
  if (DETECTION.has(type)) return { marker: 'detection', state };
  if (type === 'alert.acknowledged') return { marker: 'acknowledgement', state };
  if (type === 'alert.resolved') return { marker: 'resolution', state: { ...state, failing: false } };
  if (type.endsWith('.succeeded') && state.failing) return { marker: 'resolution', state: { ...state, failing: false } };
  if (MITIGATION.test(type.slice(type.indexOf('.') + 1))) return { marker: 'mitigation', state };
  return { state };
}

export function encodeMarkers(state: MarkerState): number {
  return (state.firstFailureMarked ? 1 : 0) | (state.failing ? 2 : 0);
}

export function decodeMarkers(bits: number): MarkerState {
  return { firstFailureMarked: (bits & 1) !== 0, failing: (bits & 2) !== 0 };
}
