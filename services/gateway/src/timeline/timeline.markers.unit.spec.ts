import { decodeMarkers, encodeMarkers, INITIAL_MARKERS, markerFor, type MarkerState } from './timeline.markers';

function mark(types: string[], start: MarkerState = INITIAL_MARKERS): Array<string | undefined> {
  let state = start;
  return types.map((t) => {
    const r = markerFor(t, state);
    state = r.state;
    return r.marker;
  });
}

describe('timeline markers', () => {
  it('marks the incident milestones of a postmortem', () => {
    expect(
      mark([
        'run.started',
        'step.failed',
        'task.timed_out',
        'alert.firing',
        'alert.acknowledged',
        'workflow.paused',
        'dead_letter.requeued',
        'step.succeeded',
        'alert.resolved',
        'step.succeeded',
      ]),
    ).toEqual([undefined, 'first_failure', undefined, 'detection', 'acknowledgement', 'mitigation', 'mitigation', 'resolution', 'resolution', undefined]);
  });

  it('marks a success as the resolution only after a failure, and counts dead letters and time-outs as failures', () => {
    expect(mark(['step.succeeded', 'task.dead_lettered', 'run.cancelled', 'run.succeeded'])).toEqual([undefined, 'first_failure', 'mitigation', 'resolution']);
    expect(mark(['collector.fetch_timed_out'])).toEqual([undefined]);
    expect(mark(['run.timed_out'])).toEqual(['first_failure']);
  });

  it('round-trips its state through the cursor bits', () => {
    for (const s of [INITIAL_MARKERS, { firstFailureMarked: true, failing: false }, { firstFailureMarked: true, failing: true }]) {
      expect(decodeMarkers(encodeMarkers(s))).toEqual(s);
    }
    // A later page continues from the state: no second first_failure.
    expect(mark(['step.failed'], { firstFailureMarked: true, failing: false })).toEqual([undefined]);
  });
});
