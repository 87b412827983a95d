import { formatTable, formatTime, headerText } from './table.format';

interface R {
  id: string;
  n: number;
  note?: string;
}

describe('table format', () => {
  const rows: R[] = [
    { id: 'a', n: 1, note: 'short' },
    { id: 'longer-id', n: 1234, note: 'x'.repeat(100) },
    { id: 'c', n: 5 },
  ];
  const columns = [
    { header: 'id', value: (r: R) => r.id },
    { header: 'n', value: (r: R) => r.n, align: 'right' as const },
    { header: 'note', value: (r: R) => r.note, max: 10 },
  ];

  it('aligns columns, right-aligns numbers, cuts long text and shows gaps as -', () => {
    expect(formatTable(columns, rows, { color: false }).split('\n')).toEqual([
      'ID            N  NOTE',
      'a             1  short',
      'longer-id  1234  xxxxxxxxx…',
      'c             5  -',
    ]);
  });

  it('adds colour only when asked', () => {
    expect(formatTable(columns, rows, { color: true })).toContain('\u001b[1m');
    expect(formatTable(columns, rows, { color: false })).not.toContain('\u001b[');
  });

  it('shows times in UTC', () => {
    expect(formatTime('2026-05-01T12:00:00+02:00')).toBe('2026-05-01 10:00:00Z');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime('not a time')).toBe('not a time');
  });

  it('prints headers in capitals word by word, and leaves non-ASCII letters alone', () => {
    expect(headerText('configuredWorkers')).toBe('CONFIGURED WORKERS');
    expect(headerText('p50')).toBe('P50');
    expect(headerText('per run')).toBe('PER RUN');
    // toUpperCase() would turn the micro sign into a Greek capital Mu.
    expect(headerText('µ$/row')).toBe('µ$/ROW');
  });
});
