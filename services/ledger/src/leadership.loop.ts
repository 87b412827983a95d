import { Client } from 'pg';
import type { Logger } from '@steward/observability';

export interface LeadershipOptions {
  databaseUrl: string;
  /** application_name of the lock connection (what pg_stat_activity shows). */
  applicationName: string;
  /** Advisory lock key (hashed with hashtext): one leader per key across replicas. */
  lockKey: string;
  lockRetryMs: number;
  /** What the logs call the leader: "relay", "replay publisher". */
  role: string;
  logger: Logger;
  metrics: { leader: { set(value: number): void }; errors: { inc(): void } };
}

export interface LeadershipHooks {
  stopping(): boolean;
  setState(state: 'active' | 'standby'): void;
  /**
   * The leader's work, on the lock's own connection (the lock lives with
   * that session: a dead connection means another replica may lead now).
   * Calls `ready()` once it is under way; returns when stopping; throws to
   * give up the lead, back off and try again.
   */
  lead(lockClient: Client, ready: () => void): Promise<void>;
  /** After a failed round, before the backoff: drop what was read ahead. */
  onFailure?(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One active leader at a time across ledger replicas: a session advisory
 * lock on a dedicated connection. A standby waits for the lock; a failed
 * round releases it (the connection ends), backs off (100 ms doubling to
 * 10 s, reset once the leader is under way) and competes again.
 */
export async function runWhileLeading(o: LeadershipOptions, h: LeadershipHooks): Promise<void> {
  let backoff = 100;
  while (!h.stopping()) {
    const lockClient = new Client({ connectionString: o.databaseUrl, application_name: o.applicationName });
    lockClient.on('error', (err) => o.logger.warn(`${o.role} lock connection error`, { err }));
    try {
      await lockClient.connect();
      if (!(await acquireLock(lockClient, o, h))) break;
      h.setState('active');
      o.metrics.leader.set(1);
      o.logger.info(`${o.role} active`, { lock: o.lockKey });
      await h.lead(lockClient, () => {
        backoff = 100;
      });
    } catch (err) {
      h.onFailure?.();
      if (h.stopping()) break; // the lock connection closing under a stop is not a failure
      o.metrics.errors.inc();
      o.logger.error(`${o.role} round failed; retrying`, { err, backoff_ms: backoff });
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 10_000);
    } finally {
      o.metrics.leader.set(0);
      if (!h.stopping()) h.setState('standby');
      await lockClient.end().catch(() => undefined);
    }
  }
}

/** Waits for the lock; false when asked to stop first. A standby replica sits here. */
async function acquireLock(client: Client, o: LeadershipOptions, h: LeadershipHooks): Promise<boolean> {
  while (!h.stopping()) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [o.lockKey]);
    if (rows[0]?.locked) return true;
    await sleep(o.lockRetryMs);
  }
  return false;
}

/**
 * A poll interval that a signal (NOTIFY, a command handled here, stop) cuts
 * short. A signal that arrives while the loop is busy is kept, so the next
 * wait returns at once instead of sleeping past new work.
 */
export class Waker {
  private wake?: () => void;
  private woken = false;

  constructor(private readonly pollMs: number) {}

  signal(): void {
    this.woken = true;
    this.wake?.();
  }

  async idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    this.woken = false;
  }
}
