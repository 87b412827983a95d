import type { StoredEvent } from '@steward/contracts';
import { planTimers, timerId, type TimerContext } from './run-timers.plan';

let position = 0n;
const event = (type: string, data: Record<string, unknown>): StoredEvent => ({
  globalPosition: ++position,
  transactionId: 1n,
  streamId: 'run-r1',
  streamVersion: Number(position),
  eventId: `e${position}`,
  type,
  schemaVersion: 1,
  data: { runId: 'r1', workflowId: 'w', ...data },
  metadata: {},
  occurredAt: new Date(),
});

const T = '2026-03-02T10:00:00.000Z';
const ctx: TimerContext = {
  runId: 'r1',
  runTimeoutMs: 600_000,
  stepTimeouts: (id) => (id === 'long' ? { startToCloseMs: 60_000, heartbeatMs: 10_000 } : { startToCloseMs: 30_000 }),
  metadata: { correlationId: 'c1' },
};
const planned = (...events: StoredEvent[]) => planTimers(events, ctx).map((e) => e.data as { timerId: string; dueAt: string; owner: string; correlation: { correlationId: string } });

describe('timers a batch of run events asks for', () => {
  it('asks for the run timeout from admission; a dispatched task without a scheduleToStart of its own needs no timer (the default guard sweeps)', () => {
    expect(planned(event('run.queued', { queuedAt: T }), event('step.queued', { stepId: 'a', attempt: 1, kind: 'task', queuedAt: T, timeouts: { startToCloseMs: 30_000 } }))).toEqual([
      expect.objectContaining({ timerId: 'r1:run_timeout', owner: 'executor', dueAt: '2026-03-02T10:10:00.000Z', correlation: expect.objectContaining({ correlationId: 'c1' }) }),
    ]);
  });

  it("asks for schedule-to-start when the step sets its own scheduleToStart", () => {
    expect(planned(event('step.queued', { stepId: 'a', attempt: 1, kind: 'collect', queuedAt: T, timeouts: { startToCloseMs: 30_000, scheduleToStartMs: 120_000 } }))).toEqual([
      expect.objectContaining({ timerId: 'r1:a:1:schedule_to_start', dueAt: '2026-03-02T10:02:00.000Z' }),
    ]);
  });

  it('asks for start-to-close and heartbeat when an attempt starts, and nothing for one that ended in the same batch', () => {
    expect(planned(event('step.started', { stepId: 'long', attempt: 2, startedAt: T })).map((t) => [t.timerId, t.dueAt])).toEqual([
      ['r1:long:2:start_to_close', '2026-03-02T10:01:00.000Z'],
      ['r1:long:2:heartbeat:1', '2026-03-02T10:00:10.000Z'],
    ]);
    expect(planned(event('step.started', { stepId: 'a', attempt: 1, startedAt: T }), event('step.succeeded', { stepId: 'a', attempt: 1 }))).toEqual([]);
  });

  it('asks for the retry at the due time the decider chose, under the attempt it will dispatch', () => {
    expect(planned(event('step.retry_scheduled', { stepId: 'a', attempt: 1, nextAttempt: 2, delayMs: 30_000, dueAt: '2026-03-02T10:00:30.000Z' }))).toEqual([
      expect.objectContaining({ timerId: 'r1:a:2:retry', dueAt: '2026-03-02T10:00:30.000Z' }),
    ]);
  });

  it('asks for the approval timeout, and a second one after an escalation', () => {
    expect(planned(event('approval.requested', { stepId: 'g', dueAt: T }), event('approval.escalated', { stepId: 'g', dueAt: T })).map((t) => t.timerId)).toEqual(['r1:g:1:approval', 'r1:g:1:approval:2']);
    expect(timerId({ kind: 'heartbeat', runId: 'r', stepId: 's', attempt: 3, seq: 7 })).toBe('r:s:3:heartbeat:7');
  });
});
