import { CommandRejected, uuidv7 } from '@steward/contracts';
import { createPool, migrate } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import { eventually, useTestEnvironment } from '@steward/testing';
import { startGateway, type GatewayHarness } from '../testing/gateway.fixture';
import { startStandInService } from '../testing/stand-in-service.fixture';

describe('operator commands', () => {
  const env = useTestEnvironment({ label: 'gwcommands', setupDatabase: (url) => migrate(url) });
  let gw: GatewayHarness;
  let operator: { token: string; name: string };
  let received: CommandEnvelope[];

  beforeAll(async () => {
    gw = await startGateway(env, { COMMAND_TIMEOUT_MS: '5000' });
    operator = await gw.tokenFor('operator', 'alice');
    const pool = env.track(createPool(env.db.url, { max: 2 }));
    received = await startStandInService(env, pool, 'executor', ['cancel_run'], (cmd) => {
      const runId = (cmd.payload as { runId: string }).runId;
      const rejected = (code: string, reason: string, issues?: { path: string; message: string }[]) => ({
        type: CommandRejected.type,
        data: { commandId: cmd.commandId, service: 'executor', command: cmd.name, code, reason, ...(issues && { issues }) },
      });
      const event =
        runId === 'r-done'
          ? rejected('illegal_state', 'run r-done already ended')
          : runId === 'r-bad'
            ? rejected('validation', 'no such step', [{ path: 'payload.stepId', message: 'unknown step' }])
            : { type: 'run.cancelled', data: { runId, status: 'cancelled' } };
      return { streamId: `run-${runId}-${uuidv7()}`, event: { ...event, metadata: { runId } } };
    });
  });

  it('answers with the outcome the owning service recorded, and puts the request on the run timeline with its actor', async () => {
    const res = await gw.request('POST', '/api/v1/runs/r-1/cancel', { token: operator.token, body: { reason: 'stuck on a lock' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ runId: 'r-1', status: 'cancelled', commandId: expect.any(String), event: { id: expect.any(String), type: 'run.cancelled', streamId: expect.stringMatching(/^run-r-1-/) } });
    const cmd = received.find((c) => c.commandId === res.body.commandId)!;
    expect(cmd).toMatchObject({ service: 'executor', name: 'cancel_run', actor: 'alice', payload: { runId: 'r-1', reason: 'stuck on a lock' } });

    // Eventually: another test file's open transaction may hold commit-safe reads back for a moment.
    const timeline = await eventually(async () => {
      const t = await gw.request('GET', '/api/v1/timeline', { token: operator.token, query: { run: 'r-1' } });
      expect(t.body.items.map((e: { type: string; actor: string }) => [e.type, e.actor])).toEqual([
        ['operator.action_recorded', 'alice'],
        ['run.cancelled', 'alice'],
      ]);
      return t;
    });
    expect(timeline.body.items[0].summary).toBe('runs.cancel requested (run=r-1): stuck on a lock');
    expect(timeline.body.items[1]).toMatchObject({ marker: 'mitigation', correlationId: res.body.commandId });
  });

  it('turns a rejection into 409 or, for bad input the service found, 400 with its issues', async () => {
    const refused = await gw.request('POST', '/api/v1/runs/r-done/cancel', { token: operator.token, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({ code: 'illegal_state', message: 'run r-done already ended', context: { service: 'executor', commandId: expect.any(String), code: 'illegal_state' } });
    const invalid = await gw.request('POST', '/api/v1/runs/r-bad/cancel', { token: operator.token, body: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'validation', message: 'no such step', issues: [{ path: 'payload.stepId', message: 'unknown step' }] });
  });

  it('still answers 503 naming the service for commands of services that are not running', async () => {
    const res = await gw.request('POST', '/api/v1/alerts/a-1/ack', { token: operator.token, body: {} });
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({ code: 'unavailable', message: 'the alerter service is not running', context: { service: 'alerter' } });
    const services = await gw.request('GET', '/api/v1/services', { token: operator.token });
    expect(services.body.items.map((s: { service: string }) => s.service)).toEqual(['executor', 'gateway']);
  });

  it('answers 503 for a running service that does not announce the command, and queues nothing', async () => {
    const before = received.length;
    const res = await gw.request('POST', '/api/v1/approvals/r-1/s-1/approve', { token: operator.token, body: {} });
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({
      code: 'unavailable',
      message: 'the executor service is running but does not handle approve_step yet',
      context: { service: 'executor', command: 'approve_step' },
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBe(before);
  });
});
