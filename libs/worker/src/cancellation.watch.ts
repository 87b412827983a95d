import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Subjects } from '@steward/contracts';
import { decodeEnvelope, type Logger } from '@steward/messaging';
import type { AbortReason } from './task.isolate';

export interface StopRequest {
  runId: string;
  /** Absent: every step of the run. */
  stepId?: string;
  /** Absent: every attempt of the step. */
  attempt?: number;
  reason: AbortReason;
}

const WATCHED: Array<{ type: string; reason: AbortReason; scope: 'run' | 'step' | 'attempt' }> = [
  { type: 'run.cancelled', reason: 'cancelled', scope: 'run' },
  { type: 'run.timed_out', reason: 'cancelled', scope: 'run' },
  { type: 'step.cancelled', reason: 'cancelled', scope: 'step' },
  // The executor's own start-to-close or heartbeat timer fired: the attempt is over for it, so stop spending on it.
  { type: 'step.timed_out', reason: 'timeout', scope: 'attempt' },
];

/**
 * Listens for the events that end running attempts. Core subscriptions, not
 * a durable consumer: every worker replica must see every cancellation (a
 * work queue would hand each one to a single replica), and one missed while
 * the worker was down concerns no attempt running here.
 */
export class CancellationWatch {
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly onStop: (request: StopRequest) => void,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    for (const w of WATCHED) {
      this.subs.push(
        this.nc.subscribe(this.subjects.event(w.type), {
          callback: (err, msg) => {
            if (err) return this.log.warn('cancellation subscription failed', { err, type: w.type });
            try {
              const data = decodeEnvelope(msg).data as { runId?: unknown; stepId?: unknown; attempt?: unknown };
              if (typeof data.runId !== 'string') return;
              this.onStop({
                runId: data.runId,
                ...(w.scope !== 'run' && typeof data.stepId === 'string' && { stepId: data.stepId }),
                ...(w.scope === 'attempt' && typeof data.attempt === 'number' && { attempt: data.attempt }),
                reason: w.reason,
              });
            } catch (decodeErr) {
              this.log.warn('ignoring an undecodable cancellation event', { err: decodeErr, subject: msg.subject });
            }
          },
        }),
      );
    }
    // The SUBs must reach the server before we take work, or an early cancellation is missed.
    await this.nc.flush();
  }

  stop(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }
}
