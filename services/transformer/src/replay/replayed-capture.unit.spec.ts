import { allEvents, EventRegistry, RawCaptured } from '@steward/contracts';
import { replayedCapture } from './replay.consumer';

const capture = () => ({
  captureId: '0190c6a4-2b1e-7c3d-8e4f-5a6b7c8d9e0f',
  source: 'bench.items',
  fingerprint: 'a'.repeat(64),
  request: { kind: 'http', target: 'https://example.test/items', method: 'GET' },
  status: 200,
  contentType: 'application/json',
  size: 2,
  sha256: 'b'.repeat(64),
  headers: {},
  durationMs: 1,
  body: { storage: 'inline', encoding: 'utf8', data: '{}' },
  capturedAt: '2025-01-01T00:00:00.000Z',
});

describe('replayedCapture', () => {
  it('accepts what the schema accepts and hands the capture back as is', () => {
    const data = capture();
    expect(new EventRegistry(allEvents).upcast(RawCaptured.type, RawCaptured.version, data).data).toEqual(data);
    expect(replayedCapture('e1', data)).toBe(data);
    expect(replayedCapture('e1', { ...data, body: { storage: 'blob', sha256: 'c'.repeat(64) }, capturedAt: '2025-01-01T01:00:00+01:00' }).body.storage).toBe('blob');
  });

  it.each([
    ['data', null],
    ['data.captureId', { ...capture(), captureId: 'nope' }],
    ['data.source', { ...capture(), source: 7 }],
    ['data.contentType', { ...capture(), contentType: undefined }],
    ['data.capturedAt', { ...capture(), capturedAt: 'January 1, 2025' }],
    ['data.capturedAt', { ...capture(), capturedAt: '2025-01-01T00:00:00' }],
    ['data.body', { ...capture(), body: 'x' }],
    ['data.body.storage', { ...capture(), body: { storage: 'disk' } }],
    ['data.body.encoding', { ...capture(), body: { storage: 'inline', encoding: 'latin1', data: '' } }],
    ['data.body.data', { ...capture(), body: { storage: 'inline', encoding: 'utf8' } }],
    ['data.body.sha256', { ...capture(), body: { storage: 'blob', sha256: 'ABC' } }],
  ])('refuses a capture whose %s is wrong, naming the event and the path', (path, data) => {
    expect(() => replayedCapture('e1', data)).toThrow(`replayed capture e1: ${path} is not`);
  });
});
