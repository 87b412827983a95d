import { Logger } from '@steward/observability';
import type { EventEnvelope } from '@steward/contracts';
import type { EnvironmentProfileResolver } from './environment.profile';
import type { StepCommand, StepCommandPublisher } from './step-command.publisher';
import { TaskAttempt } from './task.attempt';
import type { AttemptReport, IsolatedAttempt } from './task.isolate';

const data = {
  runId: 'r-1',
  workflowId: 'w',
  stepId: 'work',
  version: 1,
  attempt: 1,
  kind: 'task',
  target: { service: 'worker', queue: 'tasks' },
  spec: { handler: 'slow', queue: 'tasks' },
  input: { inputs: {}, outputs: {} },
  timeouts: { startToCloseMs: 10_000 },
  queuedAt: '2026-12-03T10:00:00.000Z',
};

describe('TaskAttempt: a started report that does not get through', () => {
  it('does not hold the result back longer than a second (JetStream slow to ack the start)', async () => {
    const sent: Array<{ name: string; at: number }> = [];
    // The publisher's own retries can take many seconds when JetStream does not ack: here the start never does.
    const commands = {
      publish: (c: StepCommand) => {
        sent.push({ name: c.name, at: Date.now() });
        return c.name === 'report_step_started' ? new Promise<string>(() => undefined) : Promise.resolve('id');
      },
    } as unknown as StepCommandPublisher;
    const isolate = async (spec: IsolatedAttempt): Promise<AttemptReport> => {
      // Runs past the started-report delay and heartbeats, whose sends chain on the hanging start.
      await new Promise((r) => setTimeout(r, 150));
      spec.onHeartbeat!();
      await new Promise((r) => setTimeout(r, 100));
      return { outcome: { status: 'succeeded', outputs: {} }, usage: { cpuMs: 1, maxRssKb: 1, wallMs: 250 }, reportedUsage: [] };
    };
    const attempt = new TaskAttempt({ id: 'e-1', correlationid: 'r-1' } as EventEnvelope, data as never, {
      workerId: 'w-1',
      commands,
      logger: new Logger({ service: 'worker', level: 'error', write: () => undefined }),
      handlers: new Map([['slow', { name: 'slow', modulePath: '/nowhere.js' }]]),
      profiles: { resolve: () => ({ env: {}, secrets: [] }) } as unknown as EnvironmentProfileResolver,
      isolate,
      startedReportDelayMs: 50,
    });
    const started = Date.now();
    await attempt.execute();
    const names = sent.map((s) => s.name);
    expect(names[0]).toBe('report_step_started');
    expect(names.at(-1)).toBe('report_step_result');
    // 250 ms of work, then about a second each for the beat and the start (before: until the publisher gave up, or never).
    expect(sent.at(-1)!.at - started).toBeLessThan(6_000);
  }, 10_000);
});
