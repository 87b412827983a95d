import type { AlertSeverity } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import { formatDuration } from '@steward/workflow';
import type { Labels } from '../domain/fingerprint';
import { judgeRate } from '../domain/rate';
import { renderTemplate } from '../domain/template';
import type { SignalRepository } from '../projection/signal.repository';
import type { AlertRule, RuleFile } from '../rules/rules.schema';
import type { Condition } from './alert.model';
import { builtinRunbook, pct, round, type BuiltinSettings, type Measured } from './workflow.conditions';

export const sourceScope = (source: string): string => `source:${source}`;
export const serviceScope = (service: string): string => `service:${service}`;

/**
 * Signals about things that are not one workflow: a source (its fetches,
 * `collection.raw_captured` vs `collection.failed`, label `source`) and a
 * service (open dead letters of the steps it was sent, label `service`).
 * The built-in rule of a signal applies unless a declarative rule of that
 * signal names the source or service (or names none, watching all).
 */
export class EntityConditions {
  constructor(
    private readonly signals: SignalRepository,
    private readonly settings: BuiltinSettings,
  ) {}

  async source(tx: Queryable, source: string, rules: RuleFile, now: Date): Promise<Condition[]> {
    const declared = rules.rules.filter((r) => r.signal === 'source_failure_rate' && (r.sources === undefined || r.sources.includes(source)));
    const builtin: AlertRule = {
      name: 'source_failure_rate',
      signal: 'source_failure_rate',
      threshold: this.settings.sourceFailureThreshold,
      window: this.settings.sourceWindowMs,
      minSamples: this.settings.sourceMinSamples,
      severity: 'ticket',
      for: 0,
      keepFiringFor: 0,
      labels: {},
    };
    const out: Condition[] = [];
    for (const rule of declared.length > 0 ? declared : [builtin]) {
      const window = rule.window ?? this.settings.sourceWindowMs;
      const threshold = rule.threshold ?? this.settings.sourceFailureThreshold;
      const minSamples = rule.minSamples ?? this.settings.sourceMinSamples;
      const w = await this.signals.sourceWindow(tx, source, now, window);
      const wf = w.workflowId === null ? undefined : await this.signals.workflow(tx, w.workflowId);
      if (rule.workflows !== undefined && (wf === undefined || !rule.workflows.includes(wf.workflowId))) continue;
      const verdict = judgeRate({ total: w.total, bad: w.bad, minSamples, threshold, kind: 'failure' });
      const m: Measured =
        verdict.status === 'insufficient_samples'
          ? { active: false, summary: `source ${source} had ${verdict.samples} of the ${minSamples} fetches needed over ${formatDuration(window)} to judge its failure rate` }
          : {
              active: verdict.status === 'breached',
              value: verdict.rate,
              threshold,
              ...(w.lastError !== null && { lastError: w.lastError }),
              ...(w.firstBadAt !== null && { impactStartedAt: w.firstBadAt }),
              summary: `source ${source} failed ${pct(verdict.rate)} of ${w.total} fetches over ${formatDuration(window)} (threshold ${pct(threshold)})`,
            };
      out.push(
        entityCondition(sourceScope(source), rule, { alertname: rule.name, source, ...rule.labels }, m, {
          runbook: rule.runbook ?? (rule === builtin || wf === undefined ? builtinRunbook(rule.signal) : wf.runbook),
          ...(wf !== undefined && { owner: wf.owner, workflowId: wf.workflowId }),
        }),
      );
    }
    return out;
  }

  async service(tx: Queryable, service: string, rules: RuleFile): Promise<Condition[]> {
    const declared = rules.rules.filter((r) => r.signal === 'service_dead_letters' && (r.services === undefined || r.services.includes(service)));
    const builtin: AlertRule = { name: 'service_dead_letters', signal: 'service_dead_letters', threshold: this.settings.serviceDeadLetters, severity: 'page', for: 0, keepFiringFor: 0, labels: {} };
    const open = await this.signals.openDeadLettersOfService(tx, service);
    return (declared.length > 0 ? declared : [builtin]).map((rule) => {
      const threshold = rule.threshold ?? this.settings.serviceDeadLetters;
      const m: Measured = {
        active: open.count >= threshold,
        value: open.count,
        threshold,
        ...(open.lastError !== null && { lastError: open.lastError }),
        ...(open.since !== null && { impactStartedAt: open.since }),
        summary: `${open.count} open dead letter${open.count === 1 ? '' : 's'} of steps sent to ${service}, in ${open.workflows} workflow${open.workflows === 1 ? '' : 's'} (threshold ${threshold})`,
      };
      return entityCondition(serviceScope(service), rule, { alertname: rule.name, service, ...rule.labels }, m, { runbook: rule.runbook ?? builtinRunbook(rule.signal) });
    });
  }
}

function entityCondition(scope: string, rule: AlertRule, identity: Labels, m: Measured, about: { runbook: string; owner?: string; workflowId?: string }): Condition {
  const severity: AlertSeverity = rule.severity;
  const labels: Labels = { ...identity, severity, ...(about.owner !== undefined && { owner: about.owner }), ...(about.workflowId !== undefined && { workflow: about.workflowId }) };
  const vars = { ...labels, value: m.value === undefined ? undefined : round(m.value), threshold: m.threshold, since: m.impactStartedAt?.toISOString(), last_error: m.lastError };
  return {
    scope,
    rule: rule.name,
    severity,
    identity,
    labels,
    active: m.active,
    forMs: rule.for,
    keepFiringForMs: rule.keepFiringFor,
    summary: rule.summary !== undefined ? renderTemplate(rule.summary, vars) : m.summary,
    runbook: about.runbook,
    ...(about.owner !== undefined && { owner: about.owner }),
    ...(about.workflowId !== undefined && { workflowId: about.workflowId }),
    ...(m.value !== undefined && { value: m.value }),
    ...(m.lastError !== undefined && { lastError: m.lastError }),
    ...(m.impactStartedAt !== undefined && { impactStartedAt: m.impactStartedAt }),
    ...(rule.action !== undefined && { action: rule.action }),
  };
}
