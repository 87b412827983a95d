import type { Pool } from 'pg';
import type { EventMetadata, StoredEvent } from '@steward/contracts';
import { unitOfWork, type Queryable } from '@steward/event-store';
import type { Clock } from '../clock';
import type { RuleSetRepository } from '../projection/rule-set.repository';
import { EMPTY_RULES } from '../projection/rule-set.repository';
import type { SignalRepository } from '../projection/signal.repository';
import type { RuleFile } from '../rules/rules.schema';
import type { AlertEngine } from './alert.engine';
import type { Condition } from './alert.model';
import { BUDGET_SCOPE, budgetConditions, CHANNELS_SCOPE, channelConditions } from './global.conditions';
import { PLATFORM_SCOPE, type PlatformObservation, type PlatformProbe } from './platform.conditions';
import { serviceScope, sourceScope, type EntityConditions } from './entity.conditions';
import { workflowScope, type WorkflowConditions } from './workflow.conditions';

/** Sources whose fetches are this recent keep being evaluated on the ticker (their windows slide). */
const SOURCE_HORIZON_MS = 30 * 24 * 3_600_000;

/**
 * Evaluates the rules of one scope (a workflow, budgets, receivers) and
 * records what changed. Message handlers call it in their own transaction
 * right after projecting an event; the ticker calls it for time-based
 * conditions (freshness, pending periods, keepFiringFor). A transaction
 * lock per scope makes replicas and the ticker take turns.
 */
export class EvaluationService {
  constructor(
    private readonly pool: Pool,
    private readonly rules: RuleSetRepository,
    private readonly signals: SignalRepository,
    private readonly workflows: WorkflowConditions,
    private readonly entities: EntityConditions,
    private readonly engine: AlertEngine,
    private readonly clock: Clock,
    private readonly channelFailureThreshold: number,
    private readonly platform?: PlatformProbe,
  ) {}

  async ruleSet(tx: Queryable): Promise<RuleFile> {
    return (await this.rules.current(tx))?.spec ?? EMPTY_RULES;
  }

  async evaluate(tx: Queryable, scope: string, cause: EventMetadata, now = this.clock.now(), observed?: PlatformObservation): Promise<StoredEvent[]> {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`alerter:${scope}`]);
    const rules = await this.ruleSet(tx);
    const conditions = scope === PLATFORM_SCOPE ? (observed && this.platform ? await this.platform.conditions(tx, observed, now) : undefined) : await this.conditionsOf(tx, scope, rules, now);
    // The platform scope is evaluated only with a fresh observation of NATS, never from a message.
    if (conditions === undefined) return [];
    return this.engine.reconcile(tx, scope, conditions, rules, now, cause);
  }

  /** Every scope, each in its own transaction (one slow workflow does not hold the others). */
  async evaluateAll(): Promise<number> {
    const now = this.clock.now();
    const scopes = [
      ...(await this.signals.workflowIds(this.pool)).map(workflowScope),
      ...(await this.signals.activeSources(this.pool, new Date(now.getTime() - SOURCE_HORIZON_MS))).map(sourceScope),
      ...(await this.signals.deadLetterServices(this.pool)).map(serviceScope),
      BUDGET_SCOPE,
      CHANNELS_SCOPE,
    ];
    const { rows } = await this.pool.query<{ scope: string }>(`SELECT DISTINCT scope FROM alerter_alerts WHERE state <> 'resolved'`);
    for (const r of rows) if (!scopes.includes(r.scope)) scopes.push(r.scope);
    let changed = 0;
    for (const scope of scopes) {
      if (scope === PLATFORM_SCOPE) continue;
      changed += (await unitOfWork(this.pool, (tx) => this.evaluate(tx, scope, {}, now))).length;
    }
    if (this.platform !== undefined) {
      const observed = await this.platform.observe();
      changed += (await unitOfWork(this.pool, (tx) => this.evaluate(tx, PLATFORM_SCOPE, {}, now, observed))).length;
    }
    return changed;
  }

  private async conditionsOf(tx: Queryable, scope: string, rules: RuleFile, now: Date): Promise<Condition[]> {
    if (scope === BUDGET_SCOPE) return budgetConditions(tx, this.signals, rules);
    if (scope === CHANNELS_SCOPE) return channelConditions(tx, this.signals, this.channelFailureThreshold);
    if (scope.startsWith('workflow:')) return this.workflows.evaluate(tx, scope.slice('workflow:'.length), rules, now);
    if (scope.startsWith('source:')) return this.entities.source(tx, scope.slice('source:'.length), rules, now);
    if (scope.startsWith('service:')) return this.entities.service(tx, scope.slice('service:'.length), rules);
    return [];
  }
}
