import { ValidationError } from '@steward/contracts';
import type { ReadModelGate } from '../operator/read-model.gate';
import type { AlertReadsRepository, AlertRow, Keyset, SilenceRow } from './alert-reads.repository';

const SERVICE = 'alerter';

const iso = (d: Date | null): string | undefined => d?.toISOString();
const opt = <K extends string, V>(key: K, value: V | null | undefined): Partial<Record<K, V>> => (value === null || value === undefined ? {} : ({ [key]: value } as Record<K, V>));

function encodeCursor(k: Keyset): string {
  return Buffer.from(JSON.stringify(k)).toString('base64url');
}

function decodeCursor(text: string): Keyset {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Keyset>;
    if (typeof v.at === 'string' && typeof v.id === 'string' && !Number.isNaN(Date.parse(v.at))) return { at: v.at, id: v.id };
  } catch {
    // falls through to the error below
  }
  throw new ValidationError('invalid cursor: pass the `next` value of the previous page', [{ path: 'query.cursor', message: 'not a cursor this endpoint issued' }]);
}

/** The exact `steward timeline` command for an alert, as its notifications give it. */
function timelineOf(a: AlertRow): string {
  return `steward timeline --alert ${a.alert_id}`;
}

/**
 * Answers alert, silence and rule reads from the alerter's projection.
 * Before the alerter ever started there are no tables: that is the
 * "alerter is not running" answer of the read-model gate (503 naming it),
 * never an empty list that looks real.
 */
export class AlertReadsService {
  constructor(
    private readonly repository: AlertReadsRepository,
    private readonly gate: ReadModelGate,
  ) {}

  async alerts(q: { state?: string; workflow?: string; cursor?: string; limit?: number }) {
    const limit = q.limit ?? 50;
    const rows = await this.read('alerts', () =>
      this.repository.listAlerts({ limit, ...opt('state', q.state), ...opt('workflow', q.workflow), ...(q.cursor !== undefined && { after: decodeCursor(q.cursor) }) }),
    );
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page.at(-1) : undefined;
    return { items: page.map(alertItem), ...(last && { next: encodeCursor({ at: last.pending_at.toISOString(), id: last.alert_id }) }) };
  }

  async silences(q: { state?: 'active' | 'expired' | 'all'; cursor?: string; limit?: number }, now = new Date()) {
    const limit = q.limit ?? 50;
    const rows = await this.read('silences', () => this.repository.listSilences({ state: q.state ?? 'active', limit, ...(q.cursor !== undefined && { after: decodeCursor(q.cursor) }) }));
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page.at(-1) : undefined;
    return { items: page.map((s) => silenceItem(s, now)), ...(last && { next: encodeCursor({ at: last.created_at.toISOString(), id: last.silence_id }) }) };
  }

  async rules() {
    const set = await this.read('alert rules', () => this.repository.ruleSet());
    if (set === undefined) return { items: [], receivers: [], inhibitions: 0, escalations: 0 };
    const receivers = (set.spec.receivers ?? []).map((r) => ({
      name: String(r.name),
      channel: ['webhook', 'slack', 'pagerduty', 'email'].find((c) => r[c] !== undefined) ?? 'unknown',
    }));
    return {
      items: (set.spec.rules ?? []).map((r) => ({ ...r, name: String(r.name), signal: String(r.signal), severity: String(r.severity) })),
      hash: set.hash,
      ...opt('file', set.file),
      ...opt('appliedBy', set.applied_by),
      appliedAt: set.applied_at.toISOString(),
      receivers,
      inhibitions: set.spec.inhibitions?.length ?? 0,
      escalations: set.spec.escalations?.length ?? 0,
    };
  }

  private async read<T>(readModel: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (err) {
      // undefined_table: the alerter has not created its tables in this database yet.
      if ((err as { code?: string }).code === '42P01') return this.gate.unavailable(SERVICE, readModel);
      throw err;
    }
  }
}

function alertItem(a: AlertRow) {
  return {
    id: a.alert_id,
    state: a.state,
    rule: a.rule,
    severity: a.severity,
    ...opt('workflow', a.workflow_id),
    ...opt('owner', a.owner),
    ...opt('summary', a.summary),
    ...opt('runbook', a.runbook),
    labels: a.labels,
    fingerprint: a.fingerprint,
    ...opt('impactStartedAt', iso(a.impact_started_at)),
    startsAt: a.pending_at.toISOString(),
    ...opt('firedAt', iso(a.fired_at)),
    ...opt('acknowledgedAt', iso(a.acknowledged_at)),
    ...opt('acknowledgedBy', a.acknowledged_by),
    ...opt('resolvedAt', iso(a.resolved_at)),
    notified: a.notified,
    ...opt('lastError', a.last_error),
    timeline: timelineOf(a),
  };
}

function silenceItem(s: SilenceRow, now: Date) {
  const state = s.expired_at !== null || s.ends_at <= now ? 'expired' : s.starts_at > now ? 'pending' : 'active';
  return {
    id: s.silence_id,
    state,
    matchers: s.matchers,
    startsAt: s.starts_at.toISOString(),
    endsAt: s.ends_at.toISOString(),
    createdBy: s.created_by,
    ...opt('comment', s.comment),
    ...opt('expiredAt', iso(s.expired_at)),
    ...opt('expiredBy', s.expired_by),
  };
}
