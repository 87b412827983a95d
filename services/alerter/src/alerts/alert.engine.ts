import { IllegalStateError, NotFoundError, uuidv7, type EventMetadata, type NewEvent, type StoredEvent } from '@steward/contracts';
import type { EventStore, Queryable } from '@steward/event-store';
import { fingerprint } from '../domain/fingerprint';
import { decideTransition, type OpenAlert, type Transition } from '../domain/lifecycle';
import type { AlertRepository } from '../projection/alert.repository';
import type { RuleFile } from '../rules/rules.schema';
import { alertStreamId, type AlertRow, type Condition } from './alert.model';

/** What else happens when an alert changes state, in the same transaction. */
export interface AlertHooks {
  /** A firing, acknowledged or resolved alert changes what its notification group says. */
  changed(tx: Queryable, alert: AlertRow, rules: RuleFile, now: Date): Promise<void>;
  fired(tx: Queryable, alert: AlertRow, condition: Condition, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<void>;
}

/**
 * Turns conditions into the alert lifecycle. For each condition it finds the
 * open alert with the same fingerprint, decides the transition (pure, in
 * domain/lifecycle) and records it: events in the alert's stream with its
 * expected version, and alerter_alerts, in the caller's transaction.
 */
export class AlertEngine {
  constructor(
    private readonly store: EventStore,
    private readonly alerts: AlertRepository,
    private readonly hooks: AlertHooks,
  ) {}

  /** `openAlerts`: the scope's open alerts when the caller already read (and locked) them. */
  async reconcile(tx: Queryable, scope: string, conditions: readonly Condition[], rules: RuleFile, now: Date, cause: EventMetadata, openAlerts?: readonly AlertRow[]): Promise<StoredEvent[]> {
    const open = new Map((openAlerts ?? (await this.alerts.findOpenByScope(tx, scope))).map((a) => [a.fingerprint, a]));
    const recorded: StoredEvent[] = [];
    const seen = new Set<string>();
    for (const c of conditions) {
      const fp = fingerprint(c.identity);
      if (seen.has(fp)) continue;
      seen.add(fp);
      const current = open.get(fp);
      const t = decideTransition(current && asOpen(current), c.active, { forMs: c.forMs, keepFiringForMs: c.keepFiringForMs }, now);
      recorded.push(...(await this.apply(tx, current, c, fp, t, rules, now, cause)));
    }
    // Open alerts no condition names any more (their rule was removed, their workflow forgotten) clear.
    for (const [fp, a] of open) {
      if (seen.has(fp)) continue;
      const t = decideTransition(asOpen(a), false, { forMs: a.forMs, keepFiringForMs: 0 }, now);
      if (t.kind === 'resolve') recorded.push(...(await this.resolve(tx, a, 'rule_removed', rules, now, cause)));
    }
    return recorded;
  }

  async acknowledge(tx: Queryable, alertId: string, actor: string, reason: string | undefined, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<StoredEvent[]> {
    const a = await this.alerts.findById(tx, alertId, true);
    if (a === undefined) throw new NotFoundError('alert', alertId);
    if (a.state === 'acknowledged') return [];
    if (a.state !== 'firing') throw new IllegalStateError(`alert ${alertId} is ${a.state}; only a firing alert can be acknowledged`, { alertId });
    const events = await this.append(tx, a, [{ type: 'alert.acknowledged', data: { ...identityOf(a), actor, ...(reason !== undefined && { reason }), acknowledgedAt: now.toISOString() } }], metadata);
    const updated: AlertRow = { ...a, state: 'acknowledged', acknowledgedAt: now, streamVersion: a.streamVersion + 1 };
    await this.alerts.update(tx, alertId, { state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: actor, streamVersion: updated.streamVersion });
    await this.hooks.changed(tx, updated, rules, now);
    return events;
  }

  async resolveByOperator(tx: Queryable, alertId: string, actor: string, rules: RuleFile, now: Date, metadata: EventMetadata): Promise<StoredEvent[]> {
    const a = await this.alerts.findById(tx, alertId, true);
    if (a === undefined) throw new NotFoundError('alert', alertId);
    if (a.state === 'resolved') return [];
    return this.resolve(tx, a, 'operator', rules, now, metadata, actor);
  }

  private async apply(tx: Queryable, current: AlertRow | undefined, c: Condition, fp: string, t: Transition, rules: RuleFile, now: Date, cause: EventMetadata): Promise<StoredEvent[]> {
    switch (t.kind) {
      case 'none':
        if (current !== undefined && c.active && (current.value !== (c.value ?? null) || current.summary !== c.summary || current.lastError !== (c.lastError ?? null))) {
          await this.alerts.update(tx, current.alertId, { value: c.value ?? null, summary: c.summary, lastError: c.lastError ?? null });
        }
        return [];
      case 'open':
        return this.open(tx, c, fp, t.fire, rules, now, cause);
      case 'fire':
        return this.fire(tx, current!, c, rules, now, cause);
      case 'resolve':
        return this.resolve(tx, current!, t.reason, rules, now, cause);
      case 'inactive':
        await this.alerts.update(tx, current!.alertId, { inactiveSince: t.since });
        return [];
      case 'active_again':
        await tx.query(`UPDATE alerter_alerts SET inactive_since = NULL WHERE alert_id = $1`, [current!.alertId]);
        return [];
      default: {
        const unknown: never = t;
        throw new Error(`unknown transition ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async open(tx: Queryable, c: Condition, fp: string, fire: boolean, rules: RuleFile, now: Date, cause: EventMetadata): Promise<StoredEvent[]> {
    const alertId = `al-${uuidv7()}`;
    const row: AlertRow = {
      alertId,
      fingerprint: fp,
      rule: c.rule,
      severity: c.severity,
      owner: c.owner ?? null,
      workflowId: c.workflowId ?? null,
      state: 'pending',
      summary: c.summary,
      labels: c.labels,
      runbook: c.runbook ?? null,
      impactStartedAt: c.impactStartedAt ?? null,
      pendingAt: now,
      firedAt: null,
      acknowledgedAt: null,
      resolvedAt: null,
      notified: false,
      lastError: c.lastError ?? null,
      value: c.value ?? null,
      inactiveSince: null,
      scope: c.scope,
      forMs: c.forMs,
      keepFiringForMs: c.keepFiringForMs,
      streamVersion: -1,
    };
    const pending: NewEvent = {
      type: 'alert.pending',
      data: {
        ...identityOf(row),
        summary: c.summary,
        ...(c.runbook !== undefined && { runbook: c.runbook }),
        forMs: c.forMs,
        ...(c.impactStartedAt !== undefined && { impactStartedAt: c.impactStartedAt.toISOString() }),
        pendingAt: now.toISOString(),
      },
    };
    const events = [pending, ...(fire ? [firingEvent(row, c, now)] : [])];
    const recorded = await this.append(tx, row, events, cause, 'no_stream');
    const stored: AlertRow = { ...row, state: fire ? 'firing' : 'pending', firedAt: fire ? now : null, streamVersion: events.length };
    await this.alerts.insert(tx, stored);
    if (fire) await this.afterFiring(tx, stored, c, rules, now, cause, recorded.at(-1)!.eventId);
    return recorded;
  }

  private async fire(tx: Queryable, a: AlertRow, c: Condition, rules: RuleFile, now: Date, cause: EventMetadata): Promise<StoredEvent[]> {
    const recorded = await this.append(tx, a, [firingEvent(a, c, now)], cause);
    const fired: AlertRow = { ...a, state: 'firing', firedAt: now, summary: c.summary, value: c.value ?? null, lastError: c.lastError ?? null, streamVersion: a.streamVersion + 1 };
    await this.alerts.update(tx, a.alertId, { state: 'firing', firedAt: now, summary: c.summary, value: c.value ?? null, lastError: c.lastError ?? null, streamVersion: fired.streamVersion });
    await this.afterFiring(tx, fired, c, rules, now, cause, recorded[0]!.eventId);
    return recorded;
  }

  /** What follows a firing (escalation, actions) is caused by the alert.firing event, in the alert's correlation. */
  private async afterFiring(tx: Queryable, a: AlertRow, c: Condition, rules: RuleFile, now: Date, cause: EventMetadata, firingEventId: string): Promise<void> {
    await this.hooks.changed(tx, a, rules, now);
    await this.hooks.fired(tx, a, c, rules, now, { ...this.metadataOf(a, cause), causationId: firingEventId });
  }

  private async resolve(tx: Queryable, a: AlertRow, reason: 'condition_cleared' | 'cleared_before_firing' | 'operator' | 'rule_removed', rules: RuleFile, now: Date, cause: EventMetadata, actor?: string): Promise<StoredEvent[]> {
    const data = { ...identityOf(a), reason, ...(actor !== undefined && { actor }), resolvedAt: now.toISOString() };
    const recorded = await this.append(tx, a, [{ type: 'alert.resolved', data }], cause);
    const resolved: AlertRow = { ...a, state: 'resolved', resolvedAt: now, streamVersion: a.streamVersion + 1 };
    await this.alerts.update(tx, a.alertId, { state: 'resolved', resolvedAt: now, resolvedReason: reason, streamVersion: resolved.streamVersion });
    if (a.firedAt !== null) await this.hooks.changed(tx, resolved, rules, now);
    return recorded;
  }

  /** Appends to the alert's stream at its expected version; the caller moves stream_version on. */
  async append(tx: Queryable, a: AlertRow, events: NewEvent[], cause: EventMetadata, expected: number | 'no_stream' = a.streamVersion): Promise<StoredEvent[]> {
    const metadata = this.metadataOf(a, cause);
    const result = await this.store.append(alertStreamId(a.alertId), events.map((e) => ({ ...e, metadata: { ...metadata, ...e.metadata } })), { expected, tx });
    return result.events;
  }

  /** Appends to an alert's stream at the version alerter_alerts holds (locked), and moves it on. */
  async appendTo(tx: Queryable, alertId: string, events: NewEvent[], metadata: EventMetadata): Promise<StoredEvent[]> {
    const a = await this.alerts.findById(tx, alertId, true);
    if (a === undefined) throw new NotFoundError('alert', alertId);
    const recorded = await this.append(tx, a, events, metadata);
    await this.alerts.update(tx, alertId, { streamVersion: a.streamVersion + events.length });
    return recorded;
  }

  /** Alert events correlate on the alert id, so `steward timeline --alert A` is one correlation. */
  private metadataOf(a: AlertRow, cause: EventMetadata): EventMetadata {
    return {
      ...(cause.causationId !== undefined && { causationId: cause.causationId }),
      ...(cause.traceparent !== undefined && { traceparent: cause.traceparent }),
      ...(cause.actor !== undefined && { actor: cause.actor }),
      correlationId: a.alertId,
      ...(a.workflowId !== null && { workflowId: a.workflowId }),
    };
  }
}

export function identityOf(a: AlertRow) {
  return {
    alertId: a.alertId,
    fingerprint: a.fingerprint,
    rule: a.rule,
    severity: a.severity,
    labels: a.labels,
    ...(a.owner !== null && { owner: a.owner }),
    ...(a.workflowId !== null && { workflowId: a.workflowId }),
  };
}

function firingEvent(a: AlertRow, c: Condition, now: Date): NewEvent {
  return {
    type: 'alert.firing',
    data: {
      ...identityOf(a),
      summary: c.summary,
      ...(c.runbook !== undefined && { runbook: c.runbook }),
      ...(c.value !== undefined && Number.isFinite(c.value) && { value: c.value }),
      ...(c.lastError !== undefined && { lastError: c.lastError.slice(0, 2000) }),
      ...(c.impactStartedAt !== undefined && { impactStartedAt: c.impactStartedAt.toISOString() }),
      firedAt: now.toISOString(),
    },
  };
}

/** Only open alerts are looked up by fingerprint, so a resolved state never reaches the lifecycle. */
function asOpen(a: AlertRow): OpenAlert {
  if (a.state === 'resolved') throw new Error(`alert ${a.alertId} is resolved, not open`);
  return { state: a.state, pendingAt: a.pendingAt, inactiveSince: a.inactiveSince };
}
