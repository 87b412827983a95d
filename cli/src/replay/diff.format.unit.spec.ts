import { formatReplayDiff, rowChange, type ReplayDiff } from './diff.format';

const base: ReplayDiff = {
  replayId: 'rp-1',
  transform: 'supplier-prices@2',
  dataset: 'supplier-prices',
  version: 2,
  baseVersion: 1,
  dryRun: false,
  status: 'completed',
  processed: 3,
  total: 3,
  counts: { rows: 3, upserted: 2, unchanged: 0, quarantined: 1 },
  summary: { added: 1, changed: 1, removed: 1, unchanged: 4, quarantined: { new: 1, base: 2 } },
  rows: [
    { key: 'A', change: 'added', new: { p: 1 } },
    { key: 'B', change: 'changed', new: { p: 2 }, base: { p: 1 } },
  ],
  truncated: true,
};

describe('replay diff output', () => {
  it('prints the summary against the base version, then the differing rows', () => {
    const text = formatReplayDiff(base, false);
    expect(text.split('\n').slice(0, 6)).toEqual([
      'replay rp-1 completed: supplier-prices@2 -> supplier-prices v2 against v1 (3/3 captures)',
      '  added        1',
      '  changed      1',
      '  removed      1',
      '  unchanged    4',
      '  quarantined  1 (v1: 2)',
    ]);
    expect(text).toMatch(/CHANGE\s+KEY\s+FIELDS/);
    expect(text).toMatch(/added\s+A\s+\{"p":1\}/);
    expect(text).toMatch(/changed\s+B\s+p: 1 -> 2/);
    expect(text).toContain('(first 2 of 3 differing rows; --limit N for more, --json for the data)');
  });

  it('names only the fields a changed row changed: edited, added and dropped', () => {
    expect(rowChange({ key: 'k', change: 'changed', base: { rate: '0.9', date: 'd', old: 1 }, new: { rate: '0.91', date: 'd', inverse: '1.09' } })).toBe('rate: 0.9 -> 0.91, -old: 1, +inverse: 1.09');
    expect(rowChange({ key: 'k', change: 'removed', base: { rate: '0.9' } })).toBe('{"rate":"0.9"}');
  });

  it('says a dry run wrote nothing and what it would have done', () => {
    const text = formatReplayDiff({ ...base, dryRun: true, summary: undefined, rows: [], baseVersion: undefined }, false);
    expect(text).toBe(
      'replay rp-1 completed: supplier-prices@2 -> supplier-prices v2 against no earlier version (3/3 captures)\ndry run: nothing written; would upsert 2, unchanged 0, quarantine 1 of 3 rows',
    );
  });

  it('does not call a replay that failed before writing a dry run', () => {
    // The gateway's answer for a backfill through a transform the transformer does not have.
    const failed: ReplayDiff = {
      replayId: 'rp-2',
      transform: 'nope@9',
      dryRun: false,
      status: 'failed',
      processed: 4,
      total: 4,
      counts: { rows: 0, upserted: 0, unchanged: 0, quarantined: 0 },
      error: 'unknown_transform: no transform nope@9 is loaded (TRANSFORMER_TRANSFORMS)',
      rows: [],
    };
    expect(formatReplayDiff(failed, false)).toBe(
      'replay rp-2 failed: nope@9 -> no dataset (4/4 captures)\nerror: unknown_transform: no transform nope@9 is loaded (TRANSFORMER_TRANSFORMS)\nnothing to compare: the replay wrote no dataset version',
    );
  });
});
