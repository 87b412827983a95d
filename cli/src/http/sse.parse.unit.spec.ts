import { SseParser } from './sse.parse';

describe('server-sent events parser', () => {
  it('dispatches data on a blank line, across chunk boundaries and CRLF', () => {
    const p = new SseParser();
    expect(p.feed('data: {"a"')).toEqual([]);
    expect(p.feed(':1}\r')).toEqual([]);
    expect(p.feed('\n\r\n')).toEqual([{ event: 'message', data: '{"a":1}', id: undefined }]);
  });

  it('joins multi-line data, keeps event names and ids, ignores comments', () => {
    const p = new SseParser();
    const events = p.feed(': keep-alive\n\nevent: entry\nid: 7\ndata: one\ndata: two\n\ndata:x\n\n');
    expect(events).toEqual([
      { event: 'entry', data: 'one\ntwo', id: '7' },
      { event: 'message', data: 'x', id: '7' },
    ]);
  });
});
