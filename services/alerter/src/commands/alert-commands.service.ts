import type { z } from 'zod';
import { IllegalStateError, NotFoundError, type EventMetadata, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import type { CommandEnvelope } from '@steward/messaging';
import type { Clock } from '../clock';
import type { AlertEngine } from '../alerts/alert.engine';
import type { EvaluationService } from '../alerts/evaluation.service';
import type { RuleSetRepository } from '../projection/rule-set.repository';
import type { SilenceRepository } from '../projection/silence.repository';
import { parseRuleFile } from '../rules/rules.parse';
import type { AlertDecisionPayload, ApplyRulesPayload, CreateSilencePayload, ExpireSilencePayload } from './command.schemas';

/** An operator's command without an actor is still recorded, under this name. */
const UNKNOWN_ACTOR = 'unknown';
export const RULES_STREAM = 'alert-rules';
export const silenceStreamId = (id: string): string => `alert-silence-${id}`;

/** What each operator command does, inside the command's transaction. */
export class AlertCommands {
  constructor(
    private readonly store: EventStore,
    private readonly engine: AlertEngine,
    private readonly evaluation: EvaluationService,
    private readonly rules: RuleSetRepository,
    private readonly silences: SilenceRepository,
    private readonly clock: Clock,
  ) {}

  async acknowledge(tx: Queryable, p: z.output<typeof AlertDecisionPayload>, meta: EventMetadata, actor = UNKNOWN_ACTOR): Promise<StoredEvent[]> {
    return this.engine.acknowledge(tx, p.alertId, actor, p.reason, await this.evaluation.ruleSet(tx), this.clock.now(), meta);
  }

  async resolve(tx: Queryable, p: z.output<typeof AlertDecisionPayload>, meta: EventMetadata, actor = UNKNOWN_ACTOR): Promise<StoredEvent[]> {
    return this.engine.resolveByOperator(tx, p.alertId, actor, await this.evaluation.ruleSet(tx), this.clock.now(), meta);
  }

  async createSilence(tx: Queryable, p: z.output<typeof CreateSilencePayload>, meta: EventMetadata, command: CommandEnvelope): Promise<StoredEvent[]> {
    const now = this.clock.now();
    const startsAt = p.startsAt !== undefined ? new Date(p.startsAt) : now;
    const endsAt = new Date(startsAt.getTime() + p.durationSeconds * 1000);
    // The command id makes the silence id: a re-sent command cannot create a second silence.
    const silenceId = `si-${command.commandId}`;
    const matchers = p.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex ?? false, isEqual: m.isEqual ?? true }));
    const createdBy = command.actor ?? UNKNOWN_ACTOR;
    const { events } = await this.store.append(
      silenceStreamId(silenceId),
      [{ type: 'alert.silence_created', data: { silenceId, matchers, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), createdBy, ...(p.comment !== undefined && { comment: p.comment }) }, metadata: { ...meta, correlationId: silenceId } }],
      { expected: 'no_stream', tx },
    );
    await this.silences.insert(tx, { silenceId, matchers, startsAt, endsAt, createdBy, comment: p.comment ?? null, createdAt: now, expiredAt: null, expiredBy: null });
    return events;
  }

  async expireSilence(tx: Queryable, p: z.output<typeof ExpireSilencePayload>, meta: EventMetadata, actor = UNKNOWN_ACTOR): Promise<StoredEvent[]> {
    const s = await this.silences.find(tx, p.silenceId);
    if (s === undefined) throw new NotFoundError('silence', p.silenceId);
    if (s.expiredAt !== null) throw new IllegalStateError(`silence ${p.silenceId} expired at ${s.expiredAt.toISOString()}`, { silenceId: p.silenceId });
    return this.expire(tx, s.silenceId, 'operator', this.clock.now(), { ...meta, correlationId: s.silenceId }, actor);
  }

  /** Silences past their end: expired by the ticker, with an event each. */
  async expireEnded(tx: Queryable, now: Date): Promise<number> {
    const ended = await this.silences.findEnded(tx, now);
    for (const s of ended) await this.expire(tx, s.silenceId, 'ended', now, { correlationId: s.silenceId });
    return ended.length;
  }

  async applyRules(tx: Queryable, p: z.output<typeof ApplyRulesPayload>, meta: EventMetadata, actor?: string): Promise<StoredEvent[]> {
    const { rules, hash } = parseRuleFile(p.yaml, p.file ?? 'the rule file');
    const current = await this.rules.current(tx);
    if (current?.hash === hash) return [];
    const now = this.clock.now();
    const version = await this.store.streamVersion(RULES_STREAM, tx);
    const { events } = await this.store.append(
      RULES_STREAM,
      [
        {
          type: 'alert.rules_applied',
          data: {
            hash,
            rules: rules.rules.map((r) => r.name),
            receivers: rules.receivers.map((r) => r.name),
            inhibitions: rules.inhibitions.length,
            escalations: rules.escalations.length,
            spec: rules as unknown as Record<string, unknown>,
            ...(p.file !== undefined && { file: p.file }),
            ...(actor !== undefined && { appliedBy: actor }),
            appliedAt: now.toISOString(),
          },
          metadata: meta,
        },
      ],
      { expected: version === null ? 'no_stream' : version, tx },
    );
    await this.rules.save(tx, { hash, spec: rules, file: p.file ?? null, appliedBy: actor ?? null, appliedAt: now });
    return events;
  }

  private async expire(tx: Queryable, silenceId: string, reason: 'ended' | 'operator', now: Date, meta: EventMetadata, actor?: string): Promise<StoredEvent[]> {
    const version = await this.store.streamVersion(silenceStreamId(silenceId), tx);
    const { events } = await this.store.append(
      silenceStreamId(silenceId),
      [{ type: 'alert.silence_expired', data: { silenceId, reason, ...(actor !== undefined && { actor }), expiredAt: now.toISOString() }, metadata: meta }],
      { expected: version ?? 'no_stream', tx },
    );
    await this.silences.markExpired(tx, silenceId, now, actor ?? null);
    // What the silence muted may speak again: firing groups re-check at their next allowed time.
    await tx.query(`UPDATE alerter_groups SET next_flush_at = GREATEST($1::timestamptz, COALESCE(last_flushed_at, $1::timestamptz)) WHERE next_flush_at IS NOT NULL`, [now]);
    return events;
  }
}
