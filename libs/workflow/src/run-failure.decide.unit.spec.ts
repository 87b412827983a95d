import { IllegalStateError } from '@steward/contracts';
import type { RunCommand } from './index';
import { at, cmd, extend, given, history, iso, PRICES, variant } from './run.fixture.spec';

// PRICES retries twice (30 s, then 5 min) and treats bad_credentials as non-retryable.
const fetching = () => history(cmd.request(), cmd.admit(), cmd.start('fetch'));
const failedOnce = () => extend(fetching(), cmd.fail('fetch', 1, 3));
const thirdAttempt = () => extend(failedOnce(), cmd.retryDue('fetch', 2, 33), cmd.start('fetch', 2, 34), cmd.fail('fetch', 2, 35), cmd.retryDue('fetch', 3, 335), cmd.start('fetch', 3, 336));
const deadLettered = () => extend(thirdAttempt(), cmd.fail('fetch', 3, 340));

describe('run decider: retry policy', () => {
  it('schedules a retry after the first failure, 30 s later', () => {
    given(fetching())
      .when(cmd.fail('fetch', 1, 3))
      .then([
        { type: 'step.failed', data: { stepId: 'fetch', attempt: 1, error: { code: 'http_503', retryable: true }, failedAt: iso(3) } },
        { type: 'step.retry_scheduled', data: { attempt: 1, nextAttempt: 2, delayMs: 30_000, dueAt: iso(33) } },
      ]);
  });

  it('waits 5 min after the second failure', () => {
    const secondRunning = extend(failedOnce(), cmd.retryDue('fetch', 2, 33), cmd.start('fetch', 2, 34));
    given(secondRunning).when(cmd.fail('fetch', 2, 35)).then([{ type: 'step.failed' }, { type: 'step.retry_scheduled', data: { nextAttempt: 3, delayMs: 300_000, dueAt: iso(335) } }]);
  });

  it("waits as long as the source's Retry-After asked when that is longer than the policy's delay", () => {
    given(fetching())
      .when({ type: 'StepFailed', runId: 'r1', stepId: 'fetch', attempt: 1, error: { code: 'http_429', message: 'slow down', retryable: true, retryAfterMs: 120_000 }, now: at(3), random: 0 })
      .then([
        { type: 'step.failed', data: { error: { code: 'http_429', retryAfterMs: 120_000 } } },
        { type: 'step.retry_scheduled', data: { nextAttempt: 2, delayMs: 120_000, dueAt: iso(123) } },
      ]);
  });

  it('shortens a delay by the jitter draw, never lengthens it', () => {
    const decided = given(fetching())
      .when({ type: 'StepFailed', runId: 'r1', stepId: 'fetch', attempt: 1, error: { code: 'x', message: 'x', retryable: true }, now: at(3), random: 0.5 })
      .then([{ type: 'step.failed' }, { type: 'step.retry_scheduled' }]);
    expect(decided[1]!.data).toMatchObject({ delayMs: 27_000 });
  });

  it('dispatches the next attempt when the retry timer fires', () => {
    given(failedOnce()).when(cmd.retryDue('fetch', 2, 33)).then([{ type: 'step.queued', data: { stepId: 'fetch', attempt: 2, queuedAt: iso(33) } }]);
  });

  it('ignores a retry timer for another attempt or a step that is not waiting', () => {
    given(failedOnce()).when(cmd.retryDue('fetch', 3, 33)).thenNothing();
    given(fetching()).when(cmd.retryDue('fetch', 2, 33)).thenNothing();
  });

  it('moves the step to the dead-letter queue when its last retry fails, with provenance, and fails the run', () => {
    given(thirdAttempt())
      .when(cmd.fail('fetch', 3, 340))
      .then([
        { type: 'step.failed', data: { attempt: 3 } },
        {
          type: 'step.dead_lettered',
          data: {
            runId: 'r1',
            workflowId: 'prices',
            version: 3,
            stepId: 'fetch',
            reason: 'budget_exhausted',
            attempts: [
              { attempt: 1, error: { code: 'http_503' }, failedAt: iso(3) },
              { attempt: 2, error: { code: 'http_503' }, failedAt: iso(35) },
              { attempt: 3, error: { code: 'http_503' }, failedAt: iso(340) },
            ],
            firstFailureAt: iso(3),
            lastFailureAt: iso(340),
            deadLetteredAt: iso(340),
          },
        },
        { type: 'run.failed', data: { failedSteps: [{ stepId: 'fetch', status: 'dead_lettered', error: { code: 'http_503' } }] } },
      ]);
  });

  it('dead-letters at once on a non-retryable code or a worker that says retrying cannot help', () => {
    given(fetching()).when(cmd.fail('fetch', 1, 3, 'bad_credentials')).then([{ type: 'step.failed' }, { type: 'step.dead_lettered', data: { reason: 'non_retryable' } }, { type: 'run.failed' }]);
    given(fetching()).when(cmd.fail('fetch', 1, 3, 'schema_mismatch', false)).then([{ type: 'step.failed' }, { type: 'step.dead_lettered', data: { reason: 'non_retryable' } }, { type: 'run.failed' }]);
  });

  it('ignores a repeated failure report and refuses one for a step that already succeeded', () => {
    given(failedOnce()).when(cmd.fail('fetch', 1, 4)).thenNothing();
    const done = extend(fetching(), cmd.succeed('fetch'));
    given(done).when(cmd.fail('fetch', 1, 4)).thenThrows(IllegalStateError, /step.failed is not allowed in state succeeded/);
  });
});

describe('run decider: step timeouts', () => {
  it('retries an attempt that ran past its start-to-close or heartbeat timeout', () => {
    given(fetching()).when(cmd.timeout('fetch', 'start_to_close')).then([{ type: 'step.timed_out', data: { timeout: 'start_to_close', attempt: 1 } }, { type: 'step.retry_scheduled', data: { delayMs: 30_000 } }]);
    given(fetching()).when(cmd.timeout('fetch', 'heartbeat')).then([{ type: 'step.timed_out', data: { timeout: 'heartbeat' } }, { type: 'step.retry_scheduled' }]);
  });

  it('retries an attempt no worker picked up in time', () => {
    given(history(cmd.request(), cmd.admit())).when(cmd.timeout('fetch', 'schedule_to_start')).then([{ type: 'step.timed_out', data: { timeout: 'schedule_to_start' } }, { type: 'step.retry_scheduled' }]);
  });

  it("the executor's default guard times out only a step without a scheduleToStart of its own", () => {
    const byDefault = { ...cmd.timeout('fetch', 'schedule_to_start'), byDefault: true } as RunCommand;
    given(history(cmd.request(), cmd.admit())).when(byDefault).then([{ type: 'step.timed_out', data: { timeout: 'schedule_to_start' } }, { type: 'step.retry_scheduled' }]);
    // Its own limit (here 2 h, beyond the default) is its own timer's to enforce.
    const patient = { ...PRICES, steps: PRICES.steps.map((s) => (s.id === 'fetch' ? { ...s, scheduleToStartMs: 7_200_000 } : s)) };
    given(history(cmd.request({ workflow: patient }), cmd.admit())).when(byDefault).thenNothing();
    given(history(cmd.request({ workflow: patient }), cmd.admit())).when(cmd.timeout('fetch', 'schedule_to_start')).then([{ type: 'step.timed_out' }, { type: 'step.retry_scheduled' }]);
  });

  it('dead-letters a step whose last attempt timed out', () => {
    given(thirdAttempt())
      .when(cmd.timeout('fetch', 'start_to_close', 3, 1000))
      .then([{ type: 'step.timed_out' }, { type: 'step.dead_lettered', data: { attempts: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3, error: { code: 'timeout', message: 'start-to-close timeout' } }] } }, { type: 'run.failed' }]);
  });

  it('ignores a timeout timer that lost the race with the result', () => {
    given(extend(fetching(), cmd.succeed('fetch'))).when(cmd.timeout('fetch', 'start_to_close')).thenNothing();
    given(fetching()).when(cmd.timeout('fetch', 'schedule_to_start')).thenNothing();
  });
});

describe('run decider: dead letters are requeued', () => {
  it('requeues a dead-lettered step of a failed run: the run reopens and the step gets a new attempt', () => {
    given(deadLettered())
      .when(cmd.requeue('fetch'))
      .then([{ type: 'step.requeued', data: { stepId: 'fetch', actor: 'ana', reason: 'portal fixed' } }, { type: 'run.reopened', data: { stepId: 'fetch' } }, { type: 'step.queued', data: { stepId: 'fetch', attempt: 4 } }]);
  });

  it('gives a requeued step a fresh retry budget', () => {
    const requeued = extend(deadLettered(), cmd.requeue('fetch'), cmd.start('fetch', 4, 5001));
    given(requeued).when(cmd.fail('fetch', 4, 5002)).then([{ type: 'step.failed' }, { type: 'step.retry_scheduled', data: { nextAttempt: 5, delayMs: 30_000 } }]);
  });

  it('a requeue that succeeds completes the run', () => {
    const requeued = extend(deadLettered(), cmd.requeue('fetch'), cmd.start('fetch', 4, 5001), cmd.succeed('fetch', {}, 4, 5002), cmd.succeed('normalize', { maxChangePct: 0 }, 1, 5003), cmd.start('publish', 1, 5003));
    given(requeued).when(cmd.succeed('publish', {}, 1, 5004)).then([{ type: 'step.succeeded' }, { type: 'run.succeeded' }]);
  });

  it('requeueing twice is harmless', () => {
    given(extend(deadLettered(), cmd.requeue('fetch'))).when(cmd.requeue('fetch')).thenNothing();
  });

  it('discards a dead letter with actor and reason; discarding twice is harmless, requeueing it afterwards is refused', () => {
    const discard = (s = 5000): RunCommand => ({ type: 'DiscardDeadLetter', runId: 'r1', stepId: 'fetch', actor: 'ana', reason: 'supplier gone', now: at(s) });
    given(deadLettered()).when(discard()).then([{ type: 'step.dead_letter_discarded', data: { stepId: 'fetch', actor: 'ana', reason: 'supplier gone', discardedAt: iso(5000) } }]);
    const discarded = extend(deadLettered(), discard());
    given(discarded).when(discard(5001)).thenNothing();
    given(discarded).when(cmd.requeue('fetch')).thenThrows(IllegalStateError, /was discarded/);
    given(fetching()).when(discard()).thenThrows(IllegalStateError, /not dead-lettered/);
  });

  it('refuses to requeue a step that is not dead-lettered', () => {
    given(fetching()).when(cmd.requeue('fetch')).thenThrows(IllegalStateError, /step.requeued is not allowed in state running/);
  });

  it('refuses to requeue in a run that was cancelled', () => {
    const wf = variant(`steps:\n  - id: a\n    retry: { maxAttempts: 1 }\n    task: { handler: h }\n  - id: b\n    task: { handler: h }\n`);
    const h = history(cmd.request({ workflow: wf }), cmd.admit(), cmd.fail('a', 1, 3), cmd.retryDue('a', 2, 40), cmd.fail('a', 2, 41), cmd.cancel(50));
    given(h).when(cmd.requeue('a')).thenThrows(IllegalStateError, /is cancelled/);
  });

  it('lets independent branches finish before failing, and completes after a requeue', () => {
    const wf = variant(`steps:\n  - id: a\n    retry: { maxAttempts: 1 }\n    task: { handler: h }\n  - id: b\n    task: { handler: h }\n  - id: c\n    needs: [a, b]\n    task: { handler: h }\n`);
    const h = history(cmd.request({ workflow: wf }), cmd.admit(), cmd.start('a'), cmd.start('b'), cmd.fail('a', 1, 3), cmd.retryDue('a', 2, 40), cmd.start('a', 2, 40));
    given(h).when(cmd.fail('a', 2, 41, 'boom')).then([{ type: 'step.failed' }, { type: 'step.dead_lettered' }]);
    const aDead = extend(h, cmd.fail('a', 2, 41, 'boom'));
    given(aDead).when(cmd.succeed('b', {}, 1, 42)).then([{ type: 'step.succeeded' }, { type: 'run.failed', data: { failedSteps: [{ stepId: 'a', status: 'dead_lettered' }] } }]);
    const failed = extend(aDead, cmd.succeed('b', {}, 1, 42), cmd.requeue('a'), cmd.start('a', 3, 5000));
    given(failed).when(cmd.succeed('a', {}, 3, 5001)).then([{ type: 'step.succeeded' }, { type: 'step.queued', data: { stepId: 'c' } }]);
  });
});

describe('run decider: cancellation and the run timeout', () => {
  it('cancels every unfinished step, then the run', () => {
    const running = extend(fetching(), cmd.succeed('fetch'));
    given(running)
      .when(cmd.cancel())
      .then([
        { type: 'step.cancelled', data: { stepId: 'normalize', reason: 'run_cancelled' } },
        { type: 'step.cancelled', data: { stepId: 'approve' } },
        { type: 'step.cancelled', data: { stepId: 'publish' } },
        { type: 'run.cancelled', data: { reason: 'overlap', actor: 'ana', cancelledAt: iso(20) } },
      ]);
  });

  it('cancels a pending run and a step waiting for its retry', () => {
    given(history(cmd.request())).when(cmd.cancel()).then([{ type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'run.cancelled' }]);
    given(failedOnce()).when(cmd.cancel()).then([{ type: 'step.cancelled', data: { stepId: 'fetch' } }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'run.cancelled' }]);
  });

  it('cancels a run that awaits approval', () => {
    const h = history(cmd.request(), cmd.admit(), cmd.succeed('fetch'), cmd.succeed('normalize', { maxChangePct: 99 }));
    given(h).when(cmd.cancel()).then([{ type: 'step.cancelled', data: { stepId: 'approve' } }, { type: 'step.cancelled', data: { stepId: 'publish' } }, { type: 'run.cancelled' }]);
  });

  it('cancelling twice is harmless; cancelling a finished run is refused', () => {
    given(extend(fetching(), cmd.cancel())).when(cmd.cancel(21)).thenNothing();
    given(deadLettered()).when(cmd.cancel()).thenThrows(IllegalStateError, /run: run.cancelled is not allowed in state failed \(allowed: run.reopened\)/);
  });

  it('refuses work reported for a cancelled run', () => {
    const cancelled = extend(fetching(), cmd.cancel());
    given(cancelled).when(cmd.succeed('fetch')).thenThrows(IllegalStateError, /not allowed in state cancelled/);
    given(extend(history(cmd.request(), cmd.admit()), cmd.cancel())).when(cmd.start('fetch')).thenThrows(IllegalStateError, /step.started is not allowed in state cancelled/);
  });

  it('times the run out: unfinished steps are cancelled, then run.timed_out', () => {
    given(fetching())
      .when(cmd.timeOutRun())
      .then([{ type: 'step.cancelled', data: { stepId: 'fetch', reason: 'run_timed_out' } }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'run.timed_out', data: { timeoutMs: 3_600_000, timedOutAt: iso(3600) } }]);
    given(history(cmd.request())).when(cmd.timeOutRun()).then([{ type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'step.cancelled' }, { type: 'run.timed_out' }]);
  });

  it('ignores the run timer once the run has finished', () => {
    given(deadLettered()).when(cmd.timeOutRun()).thenNothing();
  });
});
