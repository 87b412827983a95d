import { issuesOf } from '@steward/contracts';
import { BackfillPayload, CancelReplayPayload, RebuildPayload, startReplaySchema } from './replay.payloads';

function paths(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown): string[] {
  const r = schema.safeParse(value) as { success: boolean; error?: Parameters<typeof issuesOf>[0] };
  return r.success ? [] : issuesOf(r.error!).map((i) => i.path);
}

describe('start_replay payloads', () => {
  it('reads a payload with rebuild as a rebuild and anything else as a backfill', () => {
    expect(startReplaySchema({ rebuild: 'scheduler' })).toBe(RebuildPayload);
    expect(startReplaySchema({ source: 'a.b' })).toBe(BackfillPayload);
    expect(startReplaySchema(null)).toBe(BackfillPayload);
  });

  it('accepts a backfill by source or workflow with a time range, and a rebuild with types', () => {
    expect(paths(BackfillPayload, { source: 'acme.prices', from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z', transform: 'prices@2', dryRun: true })).toEqual([]);
    expect(paths(BackfillPayload, { workflow: 'supplier-prices', transform: 'prices@12' })).toEqual([]);
    expect(paths(RebuildPayload, { rebuild: 'ledger', types: ['replay.started'] })).toEqual([]);
  });

  it.each([
    [{ transform: 'prices@2' }, 'source'],
    [{ source: 'a.b', workflow: 'w', transform: 'prices@2' }, 'workflow'],
    [{ source: 'A.B', transform: 'prices@2' }, 'source'],
    [{ source: 'a.b' }, 'transform'],
    [{ source: 'a.b', transform: 'prices@0' }, 'transform'],
    [{ source: 'a.b', transform: 'prices@2', to: 'soon' }, 'to'],
    [{ source: 'a.b', transform: 'prices@2', from: '2026-05-02T00:00:00Z', to: '2026-05-01T00:00:00Z' }, 'from'],
    [{ source: 'a.b', transform: 'prices@2', extra: 1 }, 'extra'],
  ])('refuses backfill %j naming %s', (payload, path) => {
    expect(paths(BackfillPayload, payload)).toContain(path);
  });

  it('refuses bad rebuilds and cancels naming the field', () => {
    expect(paths(RebuildPayload, { rebuild: 'ledger', transform: 'x@1' })).toContain('transform');
    expect(paths(RebuildPayload, { rebuild: 'ledger', types: [] })).toContain('types');
    expect(paths(CancelReplayPayload, { replayId: 'X' })).toContain('replayId');
  });
});
