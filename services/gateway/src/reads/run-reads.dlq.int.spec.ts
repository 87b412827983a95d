import { CommandAccepted } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { useTestEnvironment } from '@steward/testing';
import type { Pool } from 'pg';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';
import { startStandInService } from '../testing/stand-in-service.fixture';

// The executor's projection tables the gateway reads (the executor owns their DDL; this is the part read here).
const EXECUTOR_TABLES = `
CREATE TABLE executor_dead_letters (
  id text PRIMARY KEY, run_id text NOT NULL, step_id text NOT NULL, workflow_id text NOT NULL, version integer NOT NULL,
  reason text NOT NULL, attempts jsonb NOT NULL, first_failure_at timestamptz NOT NULL, last_failure_at timestamptz NOT NULL,
  dead_lettered_at timestamptz NOT NULL, status text NOT NULL, resolved_at timestamptz, resolved_by text, resolution_reason text
);
CREATE TABLE executor_dead_letter_actions (
  command_id text NOT NULL, position integer NOT NULL, dead_letter_id text NOT NULL, action text NOT NULL, outcome text NOT NULL,
  reason text, events text[] NOT NULL DEFAULT '{}', actor text, recorded_at timestamptz NOT NULL, PRIMARY KEY (command_id, position)
);`;

describe('dead letters: filtered list and bulk requeue / discard', () => {
  const env = useTestEnvironment({ label: 'gwdlq', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let pool: Pool;
  let operator: { token: string };
  let received: CommandEnvelope[];

  async function deadLetter(id: string, workflow: string, code: string, hoursAgo: number): Promise<void> {
    const at = new Date(Date.now() - hoursAgo * 3_600_000).toISOString();
    const cut = id.lastIndexOf(':');
    const attempts = [{ attempt: 1, error: { code: 'timeout', message: 'slow', retryable: true }, failedAt: at }, { attempt: 2, error: { code, message: `failed with ${code}`, retryable: true }, failedAt: at }];
    await pool.query(
      `INSERT INTO executor_dead_letters (id, run_id, step_id, workflow_id, version, reason, attempts, first_failure_at, last_failure_at, dead_lettered_at, status)
       VALUES ($1, $2, $3, $4, 1, 'budget_exhausted', $5, $6, $6, $6, 'open')`,
      [id, id.slice(0, cut), id.slice(cut + 1), workflow, JSON.stringify(attempts), at],
    );
  }

  beforeAll(async () => {
    pool = env.track(createPool(env.db.url, { max: 3 }));
    await pool.query(EXECUTOR_TABLES);
    await deadLetter('r-1:fetch', 'prices', 'http_503', 1);
    await deadLetter('r-2:fetch', 'prices', 'http_404', 2);
    await deadLetter('gone-3:publish', 'prices', 'http_503', 3);
    await deadLetter('r-4:fetch', 'prices', 'http_503', 48);
    await deadLetter('r-5:load', 'stock', 'http_503', 1);
    gw = await startGateway(env, { COMMAND_TIMEOUT_MS: '5000' });
    operator = await gw.tokenFor('operator', 'carol');
    // A stand-in executor for the bulk commands: records each id's outcome, then command.accepted (ids of runs named `gone-*` are skipped).
    received = await startStandInService(env, pool, 'executor', ['requeue_dead_letters', 'discard_dead_letters'], async (cmd) => {
      const { ids } = cmd.payload as { ids: string[] };
      const done = cmd.name === 'requeue_dead_letters' ? 'requeued' : 'discarded';
      for (const [position, id] of ids.entries()) {
        const skipped = id.startsWith('gone-');
        await pool.query(
          `INSERT INTO executor_dead_letter_actions (command_id, position, dead_letter_id, action, outcome, reason, actor, recorded_at) VALUES ($1, $2, $3, 'requeue', $4, $5, $6, now())`,
          [cmd.commandId, position, id, skipped ? 'skipped' : done, skipped ? 'already requeued' : null, cmd.actor ?? null],
        );
        if (!skipped) await pool.query(`UPDATE executor_dead_letters SET status = $2 WHERE id = $1`, [id, done]);
      }
      const data = { commandId: cmd.commandId, service: 'executor', command: cmd.name, events: [] };
      return { streamId: `command-${cmd.commandId}`, event: { type: CommandAccepted.type, data } };
    });
  });

  const list = async (query: Record<string, string>) => {
    const res = await gw.request('GET', '/api/v1/dlq', { token: operator.token, query });
    expect(res.status).toBe(200);
    return res.body.items.map((i: { id: string }) => i.id).sort();
  };

  it('lists open dead letters by workflow, step, error code of the last attempt and age', async () => {
    expect(await list({})).toEqual(['gone-3:publish', 'r-1:fetch', 'r-2:fetch', 'r-4:fetch', 'r-5:load']);
    expect(await list({ workflow: 'prices' })).toEqual(['gone-3:publish', 'r-1:fetch', 'r-2:fetch', 'r-4:fetch']);
    expect(await list({ workflow: 'prices', step: 'fetch', code: 'http_503' })).toEqual(['r-1:fetch', 'r-4:fetch']);
    expect(await list({ code: 'http_503', since: '24h' })).toEqual(['gone-3:publish', 'r-1:fetch', 'r-5:load']);
    // `timeout` was an earlier attempt's error, not the last one's.
    expect(await list({ code: 'timeout' })).toEqual([]);
  });

  it.each([
    [{ workflow: 'bad id' }, 'query.workflow'],
    [{ step: 'Fetch' }, 'query.step'],
    [{ code: 'http 503' }, 'query.code'],
    [{ since: 'yesterday' }, 'query.since'],
    [{ colour: 'red' }, 'query.colour'],
  ])('refuses the bad filter %j with a 400 naming %s', async (query, field) => {
    const res = await gw.request('GET', '/api/v1/dlq', { token: operator.token, query });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
  });

  it.each([
    ['/dlq/requeue', {}, 'body.filter'],
    ['/dlq/requeue', { filter: {}, all: false }, 'body.filter'],
    ['/dlq/requeue', { filter: { since: '1 day' } }, 'body.filter.since'],
    ['/dlq/requeue', { filter: { workflow: 'w', status: 'open' } }, 'body.filter.status'],
    ['/dlq/discard', { filter: { workflow: 'w' } }, 'body.reason'],
    ['/dlq/discard', { all: true, reason: '' }, 'body.reason'],
  ])('POST %s %j: 400 naming %s, and nothing is sent', async (path, body, field) => {
    const before = received.length;
    const res = await gw.request('POST', `/api/v1${path}`, { token: operator.token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path)).toContain(field);
    expect(received).toHaveLength(before);
  });

  it('requeues the matching dead letters with one command and answers with what happened to each', async () => {
    const res = await gw.request('POST', '/api/v1/dlq/requeue', { token: operator.token, body: { filter: { workflow: 'prices', code: 'http_503', since: '24h' }, reason: 'portal is back' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matched: 2, requeued: 1, skipped: [{ id: 'gone-3:publish', reason: 'already requeued' }], truncated: false, commandId: expect.any(String) });
    const cmd = received.find((c) => c.commandId === res.body.commandId)!;
    // Oldest first; the reason and the actor travel with the one command.
    expect(cmd).toMatchObject({ name: 'requeue_dead_letters', actor: 'carol', payload: { ids: ['gone-3:publish', 'r-1:fetch'], reason: 'portal is back' } });
    expect(await list({ workflow: 'prices' })).toEqual(['gone-3:publish', 'r-2:fetch', 'r-4:fetch']);
  });

  it('answers matched 0 without sending anything when no dead letter matches', async () => {
    const before = received.length;
    const res = await gw.request('POST', '/api/v1/dlq/requeue', { token: operator.token, body: { filter: { workflow: 'nothing-here' } } });
    expect(res).toMatchObject({ status: 200, body: { matched: 0, requeued: 0, skipped: [], truncated: false } });
    expect(received).toHaveLength(before);
  });

  it('discards every open dead letter with all: true, at most 500 a request, saying it truncated', async () => {
    await pool.query(
      `INSERT INTO executor_dead_letters (id, run_id, step_id, workflow_id, version, reason, attempts, first_failure_at, last_failure_at, dead_lettered_at, status)
       SELECT 'bulk-' || n || ':call', 'bulk-' || n, 'call', 'bulk', 1, 'budget_exhausted', '[{"attempt":1,"error":{"code":"x","message":"x","retryable":false},"failedAt":"2026-01-01T00:00:00Z"}]', now(), now(), now() - n * interval '1 second', 'open'
       FROM generate_series(1, 600) AS n`,
    );
    const viewer = await gw.tokenFor('viewer');
    expect((await gw.request('POST', '/api/v1/dlq/discard', { token: viewer.token, body: { all: true, reason: 'x' } })).status).toBe(403);
    const res = await gw.request('POST', '/api/v1/dlq/discard', { token: operator.token, body: { all: true, reason: 'cleanup after the outage' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matched: 500, discarded: 499, skipped: [{ id: 'gone-3:publish' }], truncated: true });
    const cmd = received.find((c) => c.commandId === res.body.commandId)!;
    expect(cmd).toMatchObject({ name: 'discard_dead_letters', payload: { reason: 'cleanup after the outage' } });
    expect((cmd.payload as { ids: string[] }).ids).toHaveLength(500);
  });
});
