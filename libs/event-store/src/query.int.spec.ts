import type { Pool } from 'pg';
import { ValidationError, causedBy, toEnvelope, uuidv7, type EventMetadata, type StoredEvent } from '@steward/contracts';
import { eventually, useTestEnvironment } from '@steward/testing';
import { EventStore, createPool, migrate } from './index';

const env = useTestEnvironment({ label: 'query', setupDatabase: (url) => migrate(url) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('query and causationChain', () => {
  let pool: Pool;
  let store: EventStore;
  const e: Record<string, StoredEvent> = {};

  async function put(name: string, streamId: string, type: string, metadata: EventMetadata): Promise<void> {
    const { events } = await store.append(streamId, [{ type, data: { name }, metadata }], { expected: 'any' });
    e[name] = events[0]!;
  }
  const names = (events: StoredEvent[]) => events.map((x) => (x.data as { name: string }).name);

  beforeAll(async () => {
    pool = createPool(env.db.url, { max: 4 });
    store = new EventStore(pool);
    const run1 = { correlationId: 'corr-1', workflowId: 'wf-a', runId: 'run-1' };
    await put('root', 'run-1', 'run.started', run1);
    await put('dispatched', 'task-1', 'task.dispatched', causedBy(toEnvelope(e.root!)));
    await put('completed', 'task-1', 'task.completed', causedBy(toEnvelope(e.dispatched!)));
    await put('alert', 'alert-1', 'alert.raised', causedBy(toEnvelope(e.root!)));
    await put('run2', 'run-2', 'run.started', { correlationId: 'corr-2', workflowId: 'wf-a', runId: 'run-2' });
    await put('other', 'run-3', 'run.started', { correlationId: 'corr-3', workflowId: 'wf-b', runId: 'run-3' });
    // occurred_at is the transaction's start time; spacing the appends makes the windows unambiguous.
    for (const t of ['t1', 't2', 't3']) {
      await sleep(30);
      await put(t, `timer-${t}`, 'timer.fired', {});
    }
  });
  afterAll(() => pool.end());

  // Commit-safe reads can lag behind a write transaction open elsewhere on the server.
  const settled = <T>(probe: () => Promise<T>) => eventually(probe, 10_000);

  it('finds a correlation, root included, in commit order', async () => {
    await settled(async () => {
      const { events, next } = await store.query({ correlationId: 'corr-1' });
      expect(names(events)).toEqual(['root', 'dispatched', 'completed', 'alert']);
      expect(next).toBeUndefined();
    });
  });

  it('finds a workflow, a run, a stream and the direct effects of an event', async () => {
    await settled(async () => {
      expect(names((await store.query({ workflowId: 'wf-a' })).events)).toEqual(['root', 'dispatched', 'completed', 'alert', 'run2']);
      expect(names((await store.query({ runId: 'run-2' })).events)).toEqual(['run2']);
      expect(names((await store.query({ streamId: 'task-1' })).events)).toEqual(['dispatched', 'completed']);
      expect(names((await store.query({ causationId: e.root!.eventId })).events)).toEqual(['dispatched', 'alert']);
      expect(names((await store.query({ workflowId: 'wf-a', types: ['run.started'] })).events)).toEqual(['root', 'run2']);
    });
  });

  it('filters by type and a time range, from inclusive and to exclusive', async () => {
    await settled(async () => {
      const window = { types: ['timer.fired'], from: e.t2!.occurredAt, to: e.t3!.occurredAt };
      expect(names((await store.query(window)).events)).toEqual(['t2']);
      expect(names((await store.query({ types: ['timer.fired'], from: e.t2!.occurredAt })).events)).toEqual(['t2', 't3']);
      expect(names((await store.query({ types: ['timer.fired', 'alert.raised'], to: e.t2!.occurredAt })).events)).toEqual([
        'alert',
        't1',
      ]);
    });
  });

  it('pages with a cursor until next is undefined', async () => {
    const seen: string[] = [];
    await settled(async () => {
      seen.length = 0;
      let page = await store.query({ workflowId: 'wf-a' }, { limit: 2 });
      seen.push(...names(page.events));
      while (page.next) {
        page = await store.query({ workflowId: 'wf-a' }, { after: page.next, limit: 2 });
        seen.push(...names(page.events));
      }
      expect(seen).toEqual(['root', 'dispatched', 'completed', 'alert', 'run2']);
    });
  });

  it('rejects an invalid page size or date', async () => {
    await expect(store.query({}, { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.query({ from: new Date('nope') })).rejects.toBeInstanceOf(ValidationError);
  });

  it('follows causation transitively from an event', async () => {
    expect(names(await store.causationChain(e.root!.eventId))).toEqual(['root', 'dispatched', 'completed', 'alert']);
    expect(names(await store.causationChain(e.dispatched!.eventId))).toEqual(['dispatched', 'completed']);
    expect(names(await store.causationChain(e.completed!.eventId))).toEqual(['completed']);
    expect(await store.causationChain(uuidv7())).toEqual([]);
    await expect(store.causationChain('not-a-uuid')).rejects.toBeInstanceOf(ValidationError);
  });

  it('reads a stream from a version', async () => {
    expect(names(await store.readStream('task-1', { fromVersion: 2 }))).toEqual(['completed']);
    expect(await store.streamVersion('task-1')).toBe(2);
    expect(await store.streamVersion('missing')).toBeNull();
  });
});
