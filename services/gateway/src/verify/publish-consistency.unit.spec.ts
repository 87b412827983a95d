import type { Cursor } from '@steward/event-store';
import { compareStoreWithStream, type StoreItem, type StreamItem } from './publish-consistency';

const at = (pos: number, tx = pos): Cursor => ({ transactionId: BigInt(tx), globalPosition: BigInt(pos) });
const stored = (n: number): StoreItem[] => Array.from({ length: n }, (_, i) => ({ id: `e${i + 1}`, cursor: at(i + 1) }));

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function compare(store: StoreItem[], ids: string[], checkpoint = at(store.length)) {
  const byId = new Map(store.map((s) => [s.id, s.cursor]));
  const stream: StreamItem[] = ids.map((id, i) => ({ seq: i + 1, id, cursor: byId.get(id) }));
  return compareStoreWithStream(iterate(store), iterate(stream), checkpoint, async (id) => byId.get(id));
}

describe('store vs stream walk', () => {
  it('matches a stream that holds every stored event once, in commit order', async () => {
    const r = await compare(stored(5), ['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(r).toMatchObject({ matched: 5, storeEvents: 5, streamMessages: 5, missing: { count: 0 }, duplicated: { count: 0 }, outOfOrder: { count: 0 }, unknown: { count: 0 }, unpublished: 0 });
  });

  it('finds a skipped event, a second copy and a late publish', async () => {
    expect((await compare(stored(5), ['e1', 'e2', 'e4', 'e5'])).missing).toEqual({ count: 1, examples: [{ id: 'e3', position: '3/3' }] });
    expect((await compare(stored(3), ['e1', 'e2', 'e3', 'e2'])).duplicated).toEqual({ count: 1, examples: [{ id: 'e2', seq: 4, position: '2/2' }] });
    const late = await compare(stored(4), ['e1', 'e3', 'e4', 'e2']);
    expect(late).toMatchObject({ missing: { count: 0, examples: [] }, outOfOrder: { count: 1, examples: [{ id: 'e2', seq: 4 }] } });
  });

  it('treats events after the checkpoint that the stream has not reached as lag, and the ones before it as missing', async () => {
    const r = await compare(stored(6), ['e1', 'e2'], at(4));
    expect(r).toMatchObject({ matched: 2, missing: { count: 2 }, unpublished: 2 });
    expect(r.missing.examples.map((e) => e.id)).toEqual(['e3', 'e4']);
  });

  it('calls a message unknown when the store has no such event at the position it claims', async () => {
    const store = stored(2);
    const r = await compareStoreWithStream(
      iterate(store),
      iterate<StreamItem>([{ seq: 1, id: 'e1', cursor: at(1) }, { seq: 2, id: 'ghost', cursor: at(2) }, { seq: 3, id: 'nobody' }]),
      at(2),
      async (id) => store.find((s) => s.id === id)?.cursor,
    );
    expect(r.unknown.examples.map((e) => e.id)).toEqual(['ghost', 'nobody']);
    expect(r.missing.count).toBe(1);
  });
});
