import { captureRefs } from './transform-step.service';

describe('captures a transform step reads', () => {
  it('takes the capture of each needed collect step, and every capture of a glob, once', () => {
    expect(
      captureRefs({
        fetch: { captureId: 'c1', fingerprint: 'f1', size: 10 },
        files: { captureId: 'c2', fingerprint: 'f2', count: 2, captures: [{ captureId: 'c2', fingerprint: 'f2' }, { captureId: 'c3', fingerprint: 'f3' }] },
        approve: { approved: true },
        scalar: 3,
      }),
    ).toEqual([
      { captureId: 'c1', fingerprint: 'f1' },
      { captureId: 'c2', fingerprint: 'f2' },
      { captureId: 'c3', fingerprint: 'f3' },
    ]);
  });

  it('finds none when no needed step names a capture', () => {
    expect(captureRefs({ normalize: { rows: 3 } })).toEqual([]);
  });
});
