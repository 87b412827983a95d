import { causationTree, FollowFormatter, formatTimelineTable } from './timeline-table.format';
import type { TimelineEntry } from './timeline.types';

function e(id: string, type: string, causationId: string | null, extra: Partial<TimelineEntry> = {}): TimelineEntry {
  return {
    id,
    position: id,
    time: '2026-05-01T10:00:00.250Z',
    service: 'executor',
    type,
    streamId: 's',
    actor: 'system',
    summary: `${type}!`,
    causationId,
    correlationId: 'c',
    ...extra,
  };
}

describe('timeline table causation', () => {
  // a caused b and e; b caused c and d; f's cause is not in the listing.
  const entries = [
    e('a', 'run.started', null),
    e('b', 'step.started', 'a'),
    e('c', 'task.dispatched', 'b'),
    e('x', 'unrelated.event', null),
    e('d', 'step.failed', 'b'),
    e('e', 'step.started', 'a'),
    e('f', 'alert.fired', 'not-listed'),
  ];

  it('indents each event under the event that caused it, siblings in listing order', () => {
    expect(causationTree(entries).map((r) => `${r.prefix}${r.entry.id}`)).toEqual([
      'a',
      '├─ b',
      '│  ├─ c',
      '│  └─ d',
      '└─ e',
      'x',
      'f',
    ]);
  });

  it('treats an event whose cause comes later (or is itself) as a root', () => {
    const odd = [e('p', 'one', 'q'), e('q', 'two', null), e('r', 'three', 'r')];
    expect(causationTree(odd).map((r) => r.prefix)).toEqual(['', '', '']);
  });

  it('renders time, service, event with tree glyphs, summary and actor in aligned columns', () => {
    const text = formatTimelineTable(entries.slice(0, 6), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SERVICE\s+EVENT\s+SUMMARY\s+ACTOR$/);
    expect(lines[1]).toMatch(/^2026-05-01 10:00:00\.250\s+executor\s+run\.started\s+run\.started!\s+system$/);
    expect(lines[2]).toContain('├─ step.started');
    expect(lines[3]).toContain('│  ├─ task.dispatched');
    expect(lines[4]).toContain('│  └─ step.failed');
    expect(lines[5]).toContain('└─ step.started');
    expect(lines[6]).toMatch(/executor  unrelated\.event/);
    // Alignment: the summary column starts at the same offset on every row.
    const at = lines[0]!.indexOf('SUMMARY');
    expect(lines.slice(1).every((l) => l.slice(at - 2, at) === '  ' && l[at] !== ' ')).toBe(true);
    expect(text).not.toContain('\u001b[');
  });

  it('labels marked entries in the summary', () => {
    const text = formatTimelineTable([e('m', 'alert.fired', null, { marker: 'detection', summary: 'prices failing' })], { color: false });
    expect(text).toContain('[Detected] prices failing');
  });

  it('indents followed entries under parents already shown', () => {
    const f = new FollowFormatter(false);
    f.seed(causationTree(entries.slice(0, 2)));
    expect(f.line(e('n', 'task.completed', 'b'))).toContain('   └─ task.completed');
    expect(f.line(e('o', 'run.completed', null))).toMatch(/executor\s+run\.completed/);
  });
});
