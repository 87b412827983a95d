import { decodeTimelineCursor, encodeTimelineCursor } from './timeline.cursor';

describe('timeline cursor', () => {
  it('round-trips the commit-safe position, the marker state and the window start, opaquely', () => {
    const cursor = { after: { transactionId: 123456789012n, globalPosition: 42n }, markers: { firstFailureMarked: true, failing: false }, fromMs: 1_700_000_000_000 };
    const text = encodeTimelineCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeTimelineCursor(text)).toEqual(cursor);
    const noWindow = { after: { transactionId: 1n, globalPosition: 2n }, markers: { firstFailureMarked: false, failing: false } };
    expect(decodeTimelineCursor(encodeTimelineCursor(noWindow))).toEqual(noWindow);
  });

  it('rejects what it did not hand out, naming query.cursor', () => {
    for (const bad of ['x', 'not+base64', Buffer.from('1:2').toString('base64url'), Buffer.from('a:b:0:').toString('base64url')]) {
      expect(() => decodeTimelineCursor(bad)).toThrow(expect.objectContaining({ code: 'validation', issues: [{ path: 'query.cursor', message: 'not a cursor this timeline handed out' }] }));
    }
  });
});
