import type { Pool } from 'pg';
import type { NewEvent } from '@steward/contracts';
import { unitOfWork, type EventStore } from '@steward/event-store';
import type { Logger } from '@steward/observability';
import type { Clock } from '../clock';
import { backoffMs, type BackoffPolicy } from '../domain/delivery.policy';
import type { EvaluationService } from '../alerts/evaluation.service';
import { CHANNELS_SCOPE } from '../alerts/global.conditions';
import type { SignalRepository } from '../projection/signal.repository';
import type { RuleSetRepository } from '../projection/rule-set.repository';
import type { ChannelSender, AttemptResult } from './channel.sender';
import type { NotificationMessage } from './message.model';

interface Claimed {
  notification_id: string;
  dedupe_key: string;
  receiver: string;
  channel: NotificationMessage['channel'];
  group_key: string;
  alert_ids: string[];
  message: NotificationMessage;
  attempts: number;
}

export const notificationStreamId = (id: string): string => `alert-notification-${id}`;

/**
 * Sends queued notifications, at least once. A row is claimed by pushing
 * its next attempt past the send timeout (another replica skips it), sent
 * outside any transaction, and its outcome recorded as events with the row
 * update in one transaction. A crash after the send and before the record
 * re-sends with the same dedupe key, which receivers use to drop it.
 */
export class DeliveryService {
  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly sender: ChannelSender,
    private readonly rules: RuleSetRepository,
    private readonly signals: SignalRepository,
    private readonly evaluation: EvaluationService,
    private readonly clock: Clock,
    private readonly policy: BackoffPolicy & { leaseMs: number },
    private readonly logger: Logger,
  ) {}

  async deliverDue(limit = 20): Promise<number> {
    const now = this.clock.now();
    const { rows } = await this.pool.query<Claimed>(
      `UPDATE alerter_notifications SET next_attempt_at = $2::timestamptz + ($3::bigint * interval '1 millisecond')
       WHERE notification_id IN (SELECT notification_id FROM alerter_notifications WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING notification_id, dedupe_key, receiver, channel, group_key, alert_ids, message, attempts`,
      [limit, now, this.policy.leaseMs],
    );
    await Promise.all(rows.map((row) => this.deliver(row)));
    return rows.length;
  }

  private async deliver(row: Claimed): Promise<void> {
    const rules = (await this.rules.current(this.pool))?.spec;
    const receiver = rules?.receivers.find((r) => r.name === row.receiver);
    const result: AttemptResult = receiver ? await this.sender.send(receiver, row.message, row.dedupe_key) : { outcome: 'failed', error: `receiver ${row.receiver} is no longer configured` };
    const now = this.clock.now();
    const attempt = row.attempts + 1;
    const outcome = result.outcome === 'retry' && attempt >= this.policy.maxAttempts ? 'failed' : result.outcome;
    const nextAttemptAt = outcome === 'retry' ? new Date(now.getTime() + backoffMs(attempt, this.policy)) : undefined;
    const base = { notificationId: row.notification_id, dedupeKey: row.dedupe_key, receiver: row.receiver, channel: row.channel, alertIds: row.alert_ids, groupKey: row.group_key };
    const events: NewEvent[] = [
      {
        type: 'alert.notification_attempted',
        data: { ...base, attempt, ...(result.status !== undefined && { status: result.status }), ...(result.error !== undefined && { error: result.error.slice(0, 2000) }), outcome, ...(nextAttemptAt && { nextAttemptAt: nextAttemptAt.toISOString() }), at: now.toISOString() },
      },
    ];
    if (outcome === 'delivered') events.push({ type: 'alert.notification_delivered', data: { ...base, attempts: attempt, deliveredAt: now.toISOString() } });
    if (outcome === 'failed') events.push({ type: 'alert.notification_failed', data: { ...base, attempts: attempt, lastError: (result.error ?? 'failed').slice(0, 2000), failedAt: now.toISOString() } });
    if (outcome !== 'delivered') this.logger.warn('notification attempt failed', { receiver: row.receiver, notification: row.notification_id, attempt, status: outcome, err: result.error });
    await unitOfWork(this.pool, async (tx) => {
      const locked = await tx.query<{ status: string; attempts: number }>(`SELECT status, attempts FROM alerter_notifications WHERE notification_id = $1 FOR UPDATE`, [row.notification_id]);
      // Someone recorded this attempt already (a lease that ran out under a slow receiver).
      if (locked.rows[0]?.status !== 'pending' || locked.rows[0].attempts !== row.attempts) return;
      const correlationId = row.alert_ids[0] ?? row.notification_id;
      await this.store.append(notificationStreamId(row.notification_id), events.map((e) => ({ ...e, metadata: { correlationId } })), {
        expected: row.attempts === 0 ? 'no_stream' : row.attempts,
        tx,
      });
      await tx.query(
        `UPDATE alerter_notifications SET status = $2, attempts = $3, next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5, updated_at = $6 WHERE notification_id = $1`,
        [row.notification_id, outcome === 'retry' ? 'pending' : outcome, attempt, nextAttemptAt ?? null, result.error ?? null, now],
      );
      await this.signals.recordChannelResult(tx, row.receiver, outcome === 'delivered', result.error ?? null, now);
      await this.evaluation.evaluate(tx, CHANNELS_SCOPE, { correlationId }, now);
    });
  }
}
