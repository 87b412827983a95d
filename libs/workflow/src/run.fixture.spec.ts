import { allEvents, EventRegistry } from '@steward/contracts';
import {
  decideRun,
  evolveRun,
  initialRunState,
  parseWorkflow,
  type RunCommand,
  type RunEvent,
  type RunState,
  type WorkflowDefinition,
} from './index';

// Shared by the run decider specs: a workflow, command builders and the
// given(events).when(command).then(events) harness. Every decided event is
// also validated against its contract schema and folded, so a decision that
// the contracts or the state machines would refuse fails the test.

export const T0 = new Date('2026-03-02T10:00:00.000Z');
export const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
export const iso = (seconds: number): string => at(seconds).toISOString();

/** fetch -> normalize -> approve (only for large changes) -> publish. */
export const PRICES = parseWorkflow(`
id: prices
owner: pricing-team
runbook: docs/runbooks/prices.md
timeout: 1h
retry: { maxAttempts: 2, initialDelay: 30s, backoff: 10, maxDelay: 30m, jitter: 0.2, nonRetryable: [bad_credentials] }
steps:
  - id: fetch
    collect: { http: { url: "https://portal.example/prices.csv" }, rateLimit: 10/min }
  - id: normalize
    needs: [fetch]
    transform: prices@2
  - id: approve
    needs: [normalize]
    when: "outputs.normalize.maxChangePct > 30"
    approval: { approvers: [pricing-team], timeout: 4h, onTimeout: fail }
  - id: publish
    needs: [approve]
    task: { handler: price-publisher, queue: pricing, heartbeat: 30s }
`);

export function variant(yaml: string): WorkflowDefinition {
  return parseWorkflow(`id: prices\nowner: pricing-team\nrunbook: docs/runbooks/prices.md\n${yaml}`);
}

const registry = new EventRegistry(allEvents);

export const cmd = {
  request: (over: Partial<Extract<RunCommand, { type: 'RequestRun' }>> = {}): RunCommand => ({
    type: 'RequestRun',
    runId: 'r1',
    workflow: PRICES,
    version: 3,
    hash: 'h3',
    trigger: { kind: 'schedule' },
    occurrence: { id: 'prices@2026-03-02T10:00:00.000Z', at: T0 },
    input: {},
    now: T0,
    ...over,
  }),
  admit: (s = 1): RunCommand => ({ type: 'AdmitRun', runId: 'r1', now: at(s) }),
  start: (stepId: string, attempt = 1, s = 2): RunCommand => ({ type: 'StartStep', runId: 'r1', stepId, attempt, worker: 'w1', now: at(s) }),
  succeed: (stepId: string, outputs: Record<string, unknown> = {}, attempt = 1, s = 3): RunCommand => ({
    type: 'StepSucceeded',
    runId: 'r1',
    stepId,
    attempt,
    outputs,
    now: at(s),
  }),
  fail: (stepId: string, attempt = 1, s = 3, code = 'http_503', retryable = true): RunCommand => ({
    type: 'StepFailed',
    runId: 'r1',
    stepId,
    attempt,
    error: { code, message: `failed with ${code}`, retryable },
    now: at(s),
    random: 0,
  }),
  timeout: (stepId: string, timeout: 'schedule_to_start' | 'start_to_close' | 'heartbeat', attempt = 1, s = 700): RunCommand => ({
    type: 'StepTimedOut',
    runId: 'r1',
    stepId,
    attempt,
    timeout,
    now: at(s),
    random: 0,
  }),
  retryDue: (stepId: string, attempt: number, s: number): RunCommand => ({ type: 'RetryDue', runId: 'r1', stepId, attempt, now: at(s) }),
  // Operators decide as admins here: who may decide is approval.authority's own spec.
  grant: (stepId = 'approve', s = 10): RunCommand => ({ type: 'ApprovalGranted', runId: 'r1', stepId, approver: 'ana', approverRole: 'admin', comment: 'ok', now: at(s) }),
  reject: (stepId = 'approve', s = 10): RunCommand => ({ type: 'ApprovalRejected', runId: 'r1', stepId, approver: 'ana', approverRole: 'admin', comment: 'too big', now: at(s) }),
  approvalTimeout: (stepId = 'approve', s = 14_400): RunCommand => ({ type: 'ApprovalTimedOut', runId: 'r1', stepId, now: at(s) }),
  cancel: (s = 20): RunCommand => ({ type: 'CancelRun', runId: 'r1', reason: 'overlap', actor: 'ana', now: at(s) }),
  timeOutRun: (s = 3600): RunCommand => ({ type: 'TimeOutRun', runId: 'r1', now: at(s) }),
  requeue: (stepId: string, s = 5000): RunCommand => ({ type: 'Requeue', runId: 'r1', stepId, actor: 'ana', reason: 'portal fixed', now: at(s) }),
};

export function fold(events: RunEvent[], state: RunState = initialRunState()): RunState {
  return events.reduce(evolveRun, state);
}

/** The events of running each command in turn on the history so far: a realistic `given`. */
export function history(...commands: RunCommand[]): RunEvent[] {
  return extend([], ...commands);
}

/** `events` followed by what each command decides in turn. */
export function extend(events: RunEvent[], ...commands: RunCommand[]): RunEvent[] {
  const all = [...events];
  for (const c of commands) all.push(...decideRun(c, fold(all)));
  return all;
}

export function types(events: RunEvent[]): string[] {
  return events.map((e) => e.type);
}

type Expected = { type: string; data?: Record<string, unknown> };

export function given(events: RunEvent[]) {
  return {
    when(command: RunCommand) {
      const decide = () => decideRun(command, fold(events));
      return {
        /** Exactly these event types in this order; `data` is matched where given. */
        then(expected: Expected[]): RunEvent[] {
          const decided = decide();
          expect(types(decided)).toEqual(expected.map((e) => e.type));
          decided.forEach((e, i) => {
            if (expected[i]!.data) expect(e.data).toMatchObject(expected[i]!.data!);
            expect(() => registry.validate(e.type, e.data)).not.toThrow();
          });
          expect(() => fold(decided, fold(events))).not.toThrow();
          return decided;
        },
        thenNothing(): void {
          expect(decide()).toEqual([]);
        },
        thenThrows(errorClass: new (...args: never[]) => Error, message?: RegExp): Error {
          let thrown: unknown;
          try {
            decide();
          } catch (err) {
            thrown = err;
          }
          expect(thrown).toBeInstanceOf(errorClass);
          if (message) expect((thrown as Error).message).toMatch(message);
          return thrown as Error;
        },
      };
    },
  };
}
