import { send, steward, useFakeGateway } from './fake-gateway.fixture';
import type { TimelineEntry } from './timeline/timeline.types';

function entry(n: number, type: string, extra: Partial<TimelineEntry> = {}): TimelineEntry {
  return {
    id: `e${n}`,
    position: n,
    time: `2026-05-01T10:0${n}:00Z`,
    service: 'executor',
    type,
    streamId: 'run-1',
    actor: 'system',
    summary: `${type} summary`,
    causationId: null,
    correlationId: 'c-1',
    ...extra,
  };
}

describe('timeline and replay against the gateway', () => {
  const { gateway, env: currentEnv } = useFakeGateway();

  it('shows the first page indented by causation and says how to get more', async () => {
    gateway.on('GET', '/timeline', {
      status: 200,
      body: { items: [entry(1, 'run.started'), entry(2, 'step.started', { causationId: 'e1' }), entry(3, 'step.failed', { causationId: 'e2' })], next: 'cur-2' },
    });
    const r = await steward(['timeline', '--run', 'run-1', '--limit', '3'], { env: currentEnv() });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SERVICE\s+EVENT\s+SUMMARY\s+ACTOR$/);
    expect(lines[1]).toMatch(/executor\s+run\.started\s+/);
    expect(lines[2]).toMatch(/executor\s+└─ step\.started\s+/);
    expect(lines[3]).toMatch(/executor\s+ {3}└─ step\.failed\s+/);
    expect(r.stderr).toBe('more events: run again with --cursor cur-2, or add --all for everything\n');
    expect(Object.fromEntries(gateway.requests[0]!.query)).toEqual({ run: 'run-1', limit: '3' });
  });

  it('exports every page as a postmortem markdown timeline', async () => {
    gateway.on('GET', '/timeline', (req, res) => {
      const second = req.query.get('cursor') === 'p2';
      send(res, 200, second
        ? { items: [entry(3, 'alert.fired', { service: 'alerter', marker: 'detection' }), entry(5, 'alert.resolved', { service: 'alerter', marker: 'resolution' })] }
        : { items: [entry(1, 'run.started'), entry(2, 'step.failed', { marker: 'first_failure' })], next: 'p2' });
    });
    const r = await steward(['timeline', '--alert', 'A-1', '--format', 'markdown'], { env: currentEnv() });
    expect(r.code).toBe(0);
    expect(gateway.requests.map((q) => q.query.get('cursor'))).toEqual([null, 'p2']);
    expect(gateway.requests[0]!.query.get('alert')).toBe('A-1');
    expect(r.stdout).toMatch(/^# Timeline of alert `A-1`\n/);
    expect(r.stdout).toContain('| **2026-05-01 10:03:00** | **alerter** | **alert.fired** | **Detected: alert.fired summary** | **system** |');
    expect(r.stdout).toContain('- **Time to detect:** 1m 0s (first failure → detected)');
    expect(r.stdout).toContain('- **Time to resolve:** 3m 0s (first failure → resolved)');
  });

  it('passes the workflow window and prints JSON with --format json', async () => {
    const body = { items: [entry(1, 'run.started')] };
    gateway.on('GET', '/timeline', { status: 200, body });
    const r = await steward(['timeline', '--workflow', 'w', '--since', '6h', '--format', 'json'], { env: currentEnv() });
    expect(JSON.parse(r.stdout)).toEqual(body);
    expect(Object.fromEntries(gateway.requests[0]!.query)).toEqual({ workflow: 'w', since: '6h' });
  });

  it('follows the event stream until Ctrl-C, indenting caused entries, and exits 0', async () => {
    gateway.on('GET', '/timeline', { status: 200, body: { items: [entry(1, 'run.started')] } });
    gateway.on('GET', '/timeline/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      // The overlap with the listing (e1) must not print twice.
      res.write(`data: ${JSON.stringify(entry(1, 'run.started'))}\n\n`);
      res.write(`data: ${JSON.stringify(entry(2, 'step.started', { causationId: 'e1' }))}\n\n`);
      setTimeout(() => res.write(`data: ${JSON.stringify(entry(3, 'run.cancelled', { actor: 'bob' }))}\n\n`), 20);
    });
    const ctrlC = new AbortController();
    const r = await steward(['timeline', '--run', 'run-1', '--follow'], {
      env: currentEnv(),
      signal: ctrlC.signal,
      onStdout: (text) => {
        if (text.includes('run.cancelled')) ctrlC.abort();
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('following; Ctrl-C to stop\n');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^2026-05-01 10:02:00\.000\s+executor\s+└─ step\.started\s+step\.started summary\s+system$/);
    expect(lines[3]).toMatch(/run\.cancelled\s+run\.cancelled summary\s+bob$/);
    const stream = gateway.requests.find((q) => q.path === '/timeline/stream')!;
    expect(Object.fromEntries(stream.query)).toEqual({ run: 'run-1', after: '1' });
    expect(stream.headers.accept).toBe('text/event-stream');
  });

  it('exits 1 when the gateway ends the stream by itself', async () => {
    gateway.on('GET', '/timeline', { status: 200, body: { items: [] } });
    gateway.on('GET', '/timeline/stream', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify(entry(1, 'run.started'))}\n\n`);
    });
    const r = await steward(['timeline', '--correlation', 'c-1', '--follow', '--json'], { env: currentEnv() });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim()).id).toBe('e1');
    expect(JSON.parse(r.stderr).error.message).toBe('the gateway closed the timeline stream');
  });

  describe('replay', () => {
    function progress(states: Array<{ status: string; done: number }>): void {
      let call = 0;
      gateway.on('GET', '/replays/rp-1', (_req, res) => {
        const s = states[Math.min(call++, states.length - 1)]!;
        send(res, 200, { id: 'rp-1', total: 1000, ratePerSec: 120, etaSeconds: Math.ceil((1000 - s.done) / 120), ...s });
      });
    }

    it('sends the replay request with the resolved time range', async () => {
      gateway.on('POST', '/replays', { status: 201, body: { id: 'rp-1', status: 'running', total: 1000 } });
      const r = await steward(['replay', 'start', '--workflow', 'w', '--from', '2h', '--transform', 'supplier-prices@3', '--dry-run'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('dry-run replay rp-1 started over 1000 captures\n');
      expect(gateway.requests[0]!.body).toEqual({ workflow: 'w', from: '2026-05-01T10:00:00.000Z', transform: 'supplier-prices@3', dryRun: true });
    });

    it('watches progress until completed, one line per change when not a terminal', async () => {
      progress([
        { status: 'running', done: 0 },
        { status: 'running', done: 512 },
        { status: 'running', done: 512 },
        { status: 'completed', done: 1000 },
      ]);
      const r = await steward(['replay', 'status', 'rp-1', '--watch'], { env: currentEnv() });
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')).toEqual([
        'replay rp-1 running  [..........] 0/1000 0% 120/s ETA 9s',
        'replay rp-1 running  [#####.....] 512/1000 51% 120/s ETA 5s',
        'replay rp-1 completed  [##########] 1000/1000 100% 120/s ETA 0s',
        '',
      ]);
      expect(gateway.requests).toHaveLength(4);
    });

    it('redraws in place on a terminal and exits 1 when the replay fails', async () => {
      progress([
        { status: 'running', done: 100 },
        { status: 'failed', done: 300, error: 'transform threw on capture 301' } as never,
      ]);
      const r = await steward(['replay', 'status', 'rp-1', '--watch'], { env: { ...currentEnv(), NO_COLOR: '1' }, tty: true });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        '\r\u001b[2Kreplay rp-1 running  [#.........] 100/1000 10% 120/s ETA 8s' +
          '\r\u001b[2Kreplay rp-1 failed  [###.......] 300/1000 30% 120/s ETA 6s\n',
      );
      expect(r.stderr).toBe('error: replay rp-1 failed: transform threw on capture 301\n');
    });

    it('prints one status without --watch', async () => {
      progress([{ status: 'running', done: 512 }]);
      const r = await steward(['replay', 'status', 'rp-1'], { env: currentEnv() });
      expect(r).toEqual({ code: 0, stdout: 'replay rp-1 running  [#####.....] 512/1000 51% 120/s ETA 5s\n', stderr: '' });
    });
  });
});
