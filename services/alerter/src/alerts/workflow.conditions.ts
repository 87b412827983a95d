import type { AlertSeverity } from '@steward/contracts';
import type { Queryable } from '@steward/event-store';
import { formatDuration } from '@steward/workflow';
import { judgeDuration } from '../domain/baseline';
import { judgeRate } from '../domain/rate';
import { BURN_WINDOWS_MS, evaluateBurnRate } from '../domain/burn-rate';
import type { Labels } from '../domain/fingerprint';
import { renderTemplate } from '../domain/template';
import type { WorkflowMeta } from '../projection/signal.repository';
import type { SnapshotSettings, WorkflowNeeds, WorkflowSnapshotRepository } from '../projection/workflow-snapshot.repository';
import type { WorkflowSignals } from '../projection/workflow-signals.repository';
import { STEP_SIGNALS, type AlertRule, type RuleFile, type Signal } from '../rules/rules.schema';
import type { Condition } from './alert.model';
import { RuleIndex } from './rule.index';

/** Defaults of the built-in rules, from the alerter's config. */
export interface BuiltinSettings {
  burnMinVolume: number;
  baselineMinSamples: number;
  baselineWindow: number;
  baselineMaxDeviation: number;
  baselineForMs: number;
  consecutiveFailures: number;
  stepSuccessThreshold: number;
  stepWindowMs: number;
  stepMinSamples: number;
  stepBaselineForMs: number;
  sourceFailureThreshold: number;
  sourceWindowMs: number;
  sourceMinSamples: number;
  serviceDeadLetters: number;
}

/** How far back a step's last attempt may lie for it to keep its per-step conditions (and a stale alert to clear normally). */
const STEP_HORIZON_MS = 30 * 24 * 3_600_000;
/** Burn-rate alerts name the error of the newest failed run among this many. */
const LATEST_FAILURE_WITHIN = 20;

/** Where each built-in alert type's runbook lives (docs/runbooks/<type>.md). */
export const builtinRunbook = (type: string): string => `docs/runbooks/${type.replaceAll('_', '-')}.md`;

export const workflowScope = (workflowId: string): string => `workflow:${workflowId}`;

export interface Measured {
  active: boolean;
  value?: number;
  threshold?: number;
  lastError?: string;
  impactStartedAt?: Date;
  summary: string;
}

/**
 * Every condition for one workflow at `now`: the built-in rules derived
 * from its slo and the alerter's defaults, plus the declarative rules that
 * watch it. A declarative rule of a signal replaces the built-in rule of
 * that signal for the workflows it names (one breaker, not two).
 */
export class WorkflowConditions {
  constructor(
    private readonly snapshots: WorkflowSnapshotRepository,
    private readonly settings: BuiltinSettings,
  ) {}

  /** One workflow (the ticker): the same reads as a batch of one. */
  async evaluate(tx: Queryable, workflowId: string, rules: RuleFile, now: Date): Promise<Condition[]> {
    return (await this.evaluateMany(tx, [workflowId], rules, now)).get(workflowId) ?? [];
  }

  /** Conditions of many workflows at `now`, their signals read in two statements (WorkflowSnapshotRepository). */
  async evaluateMany(tx: Queryable, workflowIds: readonly string[], rules: RuleFile, now: Date): Promise<Map<string, Condition[]>> {
    const index = RuleIndex.of(rules);
    const needs = workflowIds.map((id) => this.needsOf(id, index.workflowRules(id)));
    const signals = await this.snapshots.load(tx, needs, now, this.snapshotSettings(index, workflowIds, now));
    const out = new Map<string, Condition[]>();
    for (const id of workflowIds) out.set(id, await this.conditions(signals.get(id)!, index.workflowRules(id), now));
    return out;
  }

  /** The reads the workflow's rules make, so one statement can load them for every workflow of a batch. */
  private needsOf(workflowId: string, declared: readonly AlertRule[]): WorkflowNeeds {
    const streaks = declared.filter((r) => r.signal === 'consecutive_failures');
    const thresholds = streaks.length > 0 ? streaks.map((r) => r.threshold ?? this.settings.consecutiveFailures) : [this.settings.consecutiveFailures];
    return {
      workflowId,
      streakLimit: Math.max(...thresholds.map((t) => Math.max(t, 1) + 50)),
      windowsMs: declared.filter((r) => r.signal === 'success_rate').map((r) => r.window ?? 15 * 60_000),
    };
  }

  private snapshotSettings(index: RuleIndex, workflowIds: readonly string[], now: Date): SnapshotSettings {
    const stepWindows = new Set([this.settings.stepWindowMs]);
    for (const id of workflowIds) for (const r of index.workflowRules(id)) if (r.signal === 'step_success_rate') stepWindows.add(r.window ?? this.settings.stepWindowMs);
    return {
      baselineLimit: this.settings.baselineWindow + 1,
      latestFailureWithin: LATEST_FAILURE_WITHIN,
      burnWindowsMs: BURN_WINDOWS_MS,
      stepsSince: new Date(now.getTime() - STEP_HORIZON_MS),
      stepWindowsMs: [...stepWindows],
    };
  }

  private async conditions(s: WorkflowSignals, declared: readonly AlertRule[], now: Date): Promise<Condition[]> {
    const wf = s.meta;
    if (wf === undefined) return [];
    const overridden = new Set<Signal>(declared.map((r) => r.signal));
    const out: Condition[] = [];
    // Read once per evaluation, shared by every step rule.
    let steps: Promise<string[]> | undefined;
    const stepsOf = () => (steps ??= s.activeSteps(new Date(now.getTime() - STEP_HORIZON_MS)));
    for (const builtin of this.builtins(wf)) {
      if (overridden.has(builtin.signal)) continue;
      out.push(...(await this.conditionsOf(s, wf, builtin, now, true, stepsOf)));
    }
    for (const rule of declared) out.push(...(await this.conditionsOf(s, wf, rule, now, false, stepsOf)));
    return out;
  }

  private builtins(wf: WorkflowMeta): AlertRule[] {
    const base = { labels: {}, keepFiringFor: 0 };
    const rules: AlertRule[] = [
      { ...base, name: 'consecutive_failures', signal: 'consecutive_failures', threshold: this.settings.consecutiveFailures, severity: 'page', for: 0 },
      { ...base, name: 'duration_baseline', signal: 'duration_baseline', threshold: this.settings.baselineMaxDeviation, minSamples: this.settings.baselineMinSamples, severity: 'ticket', for: this.settings.baselineForMs },
      { ...base, name: 'dead_letters', signal: 'dead_letters', threshold: 1, severity: 'ticket', for: 0 },
      { ...base, name: 'heartbeat_missed', signal: 'heartbeat_missed', threshold: 1, severity: 'ticket', for: 0 },
      { ...base, name: 'step_success_rate', signal: 'step_success_rate', threshold: this.settings.stepSuccessThreshold, window: this.settings.stepWindowMs, minSamples: this.settings.stepMinSamples, severity: 'ticket', for: 0 },
      { ...base, name: 'step_duration_baseline', signal: 'step_duration_baseline', threshold: this.settings.baselineMaxDeviation, minSamples: this.settings.baselineMinSamples, severity: 'ticket', for: this.settings.stepBaselineForMs },
    ];
    if (wf.successObjective !== null) rules.push({ ...base, name: 'slo_burn_rate', signal: 'slo_burn_rate', severity: 'page', for: 0 });
    if (wf.freshnessMs !== null) rules.push({ ...base, name: 'data_freshness', signal: 'data_freshness', severity: 'page', for: 0 });
    return rules;
  }

  private async conditionsOf(s: WorkflowSignals, wf: WorkflowMeta, rule: AlertRule, now: Date, builtin: boolean, stepsOf: () => Promise<string[]>): Promise<Condition[]> {
    if (rule.signal === 'slo_burn_rate') return this.burnRate(s, wf, rule, now, builtin);
    if (STEP_SIGNALS.includes(rule.signal)) return this.perStep(s, wf, rule, now, builtin, await stepsOf());
    const m = await this.measure(s, wf, rule, now);
    if (m === undefined) return [];
    return [this.condition(wf, rule, rule.name, rule.severity, m, builtin)];
  }

  private condition(wf: WorkflowMeta, rule: AlertRule, alertname: string, severity: AlertSeverity, m: Measured, builtin: boolean, extra: Labels = {}): Condition {
    const identity: Labels = { alertname, workflow: wf.workflowId, ...rule.labels, ...extra };
    const labels: Labels = { ...identity, severity, owner: wf.owner };
    const vars = {
      ...labels,
      value: m.value === undefined ? undefined : round(m.value),
      threshold: m.threshold,
      since: m.impactStartedAt?.toISOString(),
      last_error: m.lastError,
    };
    return {
      scope: workflowScope(wf.workflowId),
      rule: alertname,
      severity,
      identity,
      labels,
      active: m.active,
      forMs: rule.for,
      keepFiringForMs: rule.keepFiringFor,
      summary: rule.summary !== undefined ? renderTemplate(rule.summary, vars) : m.summary,
      runbook: rule.runbook ?? (builtin ? builtinRunbook(rule.signal) : wf.runbook),
      owner: wf.owner,
      workflowId: wf.workflowId,
      ...(m.value !== undefined && { value: m.value }),
      ...(m.lastError !== undefined && { lastError: m.lastError }),
      ...(m.impactStartedAt !== undefined && { impactStartedAt: m.impactStartedAt }),
      ...(rule.action !== undefined && { action: rule.action }),
    };
  }

  /** One condition per step of the workflow (label `step`) that ran within the horizon and the rule watches. */
  private async perStep(s: WorkflowSignals, wf: WorkflowMeta, rule: AlertRule, now: Date, builtin: boolean, active: readonly string[]): Promise<Condition[]> {
    const out: Condition[] = [];
    for (const step of active.filter((st) => rule.steps === undefined || rule.steps.includes(st))) {
      const m = rule.signal === 'step_success_rate' ? await this.stepSuccess(s, wf.workflowId, step, rule, now) : await this.stepDuration(s, wf.workflowId, step, rule);
      out.push(this.condition(wf, rule, rule.name, rule.severity, m, builtin, { step }));
    }
    return out;
  }

  private async stepSuccess(s: WorkflowSignals, id: string, step: string, rule: AlertRule, now: Date): Promise<Measured> {
    const window = rule.window ?? this.settings.stepWindowMs;
    const threshold = rule.threshold ?? this.settings.stepSuccessThreshold;
    const minSamples = rule.minSamples ?? this.settings.stepMinSamples;
    const w = await s.stepWindow(step, now, window);
    const verdict = judgeRate({ total: w.total, bad: w.bad, minSamples, threshold, kind: 'success' });
    if (verdict.status === 'insufficient_samples') return { active: false, summary: `${id} step ${step} had ${verdict.samples} of the ${minSamples} attempts needed over ${formatDuration(window)} to judge its success rate` };
    return {
      active: verdict.status === 'breached',
      value: verdict.rate,
      threshold,
      ...(w.lastError !== null && { lastError: w.lastError }),
      ...(w.firstBadAt !== null && { impactStartedAt: w.firstBadAt }),
      summary: `${id} step ${step} succeeded in ${pct(verdict.rate)} of ${w.total} attempts over ${formatDuration(window)} (threshold ${pct(threshold)})`,
    };
  }

  private async stepDuration(s: WorkflowSignals, id: string, step: string, rule: AlertRule): Promise<Measured> {
    const minSamples = rule.minSamples ?? this.settings.baselineMinSamples;
    const maxDeviation = rule.threshold ?? this.settings.baselineMaxDeviation;
    const { latest, earlier } = await s.stepBaseline(step, this.settings.baselineWindow + 1);
    if (latest === undefined) return { active: false, summary: `${id} step ${step} has no timed successful attempt yet` };
    const verdict = judgeDuration({ samples: earlier, latestMs: latest.durationMs, minSamples, maxDeviation });
    if (verdict.status === 'insufficient_samples') return { active: false, summary: `${id} step ${step} has ${verdict.samples} of ${minSamples} attempts needed for a baseline` };
    return {
      active: verdict.status === 'deviates',
      value: verdict.deviation * 100,
      threshold: maxDeviation * 100,
      impactStartedAt: latest.endedAt,
      summary: `${id} step ${step} took ${formatDuration(latest.durationMs)} in run ${latest.runId}, ${round(Math.abs(verdict.deviation) * 100)}% ${verdict.direction} than its baseline ${formatDuration(verdict.baselineMs)}`,
    };
  }

  private async burnRate(s: WorkflowSignals, wf: WorkflowMeta, rule: AlertRule, now: Date, builtin: boolean): Promise<Condition[]> {
    if (wf.successObjective === null) return [];
    const counts = await s.windowCounts(now, BURN_WINDOWS_MS);
    const result = evaluateBurnRate({ objective: wf.successObjective, minVolume: this.settings.burnMinVolume, counts: (w) => counts.get(w)! });
    const tier = result.tier;
    const recentError = tier ? await s.latestFailureError(LATEST_FAILURE_WITHIN) : undefined;
    const describe = (severity: 'page' | 'ticket'): Measured => {
      const active = tier !== null && tier.severity === severity;
      const rate = tier ? result.rates.get(tier.longMs)! : 0;
      return {
        active,
        value: rate,
        ...(tier && { threshold: tier.factor }),
        ...(recentError && { lastError: recentError }),
        summary: tier
          ? `${wf.workflowId} burns its ${pct(wf.successObjective!)} success SLO ${round(rate)}x too fast (over ${formatDuration(tier.longMs)} and ${formatDuration(tier.shortMs)})`
          : `${wf.workflowId} burns its success SLO within budget`,
      };
    };
    // The ticket tier is suppressed while a page tier fires: evaluateBurnRate returns the highest active tier only.
    return [
      this.condition(wf, rule, `${rule.name}_page`, 'page', describe('page'), builtin, { slo: 'success_rate' }),
      this.condition(wf, rule, `${rule.name}_ticket`, 'ticket', describe('ticket'), builtin, { slo: 'success_rate' }),
    ];
  }

  private async measure(s: WorkflowSignals, wf: WorkflowMeta, rule: AlertRule, now: Date): Promise<Measured | undefined> {
    const id = wf.workflowId;
    switch (rule.signal) {
      case 'consecutive_failures': {
        const threshold = rule.threshold ?? this.settings.consecutiveFailures;
        const failed = await s.failureStreak(Math.max(threshold, 1) + 50);
        return {
          active: failed.count >= threshold,
          value: failed.count,
          threshold,
          ...(failed.newestError && { lastError: failed.newestError }),
          ...(failed.oldestEndedAt && { impactStartedAt: failed.oldestEndedAt }),
          summary: `${id} failed ${failed.count} runs in a row (threshold ${threshold})`,
        };
      }
      case 'duration_baseline': {
        const minSamples = rule.minSamples ?? this.settings.baselineMinSamples;
        const maxDeviation = rule.threshold ?? this.settings.baselineMaxDeviation;
        const { latest, earlier } = await s.baseline(this.settings.baselineWindow + 1);
        if (latest === undefined) return { active: false, summary: `${id} has no successful run yet` };
        const verdict = judgeDuration({ samples: earlier, latestMs: latest.durationMs, minSamples, maxDeviation });
        if (verdict.status === 'insufficient_samples') return { active: false, summary: `${id} has ${verdict.samples} of ${minSamples} runs needed for a baseline` };
        return {
          active: verdict.status === 'deviates',
          value: verdict.deviation * 100,
          threshold: maxDeviation * 100,
          impactStartedAt: latest.endedAt,
          summary: `${id} run ${latest.runId} took ${formatDuration(latest.durationMs)}, ${round(Math.abs(verdict.deviation) * 100)}% ${verdict.direction} than its baseline ${formatDuration(verdict.baselineMs)}`,
        };
      }
      case 'dead_letters': {
        const threshold = rule.threshold ?? 1;
        const open = await s.openDeadLetters();
        return {
          active: open.count >= threshold,
          value: open.count,
          threshold,
          ...(open.lastError !== null && { lastError: open.lastError }),
          ...(open.since !== null && { impactStartedAt: open.since }),
          summary: `${id} has ${open.count} open dead letter${open.count === 1 ? '' : 's'}`,
        };
      }
      case 'heartbeat_missed': {
        const threshold = rule.threshold ?? 1;
        const stalled = await s.openStalledSteps();
        return {
          active: stalled.count >= threshold,
          value: stalled.count,
          threshold,
          ...(stalled.last !== null && { lastError: `no heartbeat from run ${stalled.last}` }),
          ...(stalled.since !== null && { impactStartedAt: stalled.since }),
          summary: `${id} has ${stalled.count} task attempt${stalled.count === 1 ? '' : 's'} that stopped sending heartbeats in runs still open`,
        };
      }
      case 'data_freshness': {
        if (wf.freshnessMs === null) return undefined;
        const last = latestOf(wf.lastSuccessAt, wf.lastCaptureAt) ?? wf.appliedAt;
        const ageMs = now.getTime() - last.getTime();
        return {
          active: ageMs > wf.freshnessMs,
          value: ageMs,
          threshold: wf.freshnessMs,
          impactStartedAt: new Date(last.getTime() + wf.freshnessMs),
          summary: `${id} data is ${formatDuration(ageMs)} old; its SLO allows ${formatDuration(wf.freshnessMs)} (last success ${last.toISOString()})`,
        };
      }
      case 'success_rate': {
        const window = rule.window ?? 15 * 60_000;
        const counts = (await s.windowCounts(now, [window])).get(window)!;
        if (counts.total < (rule.minSamples ?? 1)) return { active: false, summary: `${id} had too few runs to judge its success rate` };
        const rate = (counts.total - counts.bad) / counts.total;
        return {
          active: rate < rule.threshold!,
          value: rate,
          threshold: rule.threshold!,
          summary: `${id} succeeded in ${pct(rate)} of ${counts.total} runs over ${formatDuration(window)} (threshold ${pct(rule.threshold!)})`,
        };
      }
      case 'slo_burn_rate':
      case 'budget':
      case 'step_success_rate':
      case 'step_duration_baseline':
      case 'source_failure_rate':
      case 'service_dead_letters':
        return undefined;
      default: {
        const unknown: never = rule.signal;
        throw new Error(`unknown signal ${String(unknown)}`);
      }
    }
  }
}

function latestOf(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

export const round = (n: number): number => Math.round(n * 100) / 100;
export const pct = (r: number): string => `${round(r * 100)}%`;
