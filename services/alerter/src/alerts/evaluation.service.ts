import type { Pool } from 'pg';
import type { EventMetadata, StoredEvent } from '@steward/contracts';
import { unitOfWork, type Queryable } from '@steward/event-store';
import type { Clock } from '../clock';
import type { AlertRepository } from '../projection/alert.repository';
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

/** One ingest transaction's evaluations: the rule set read once, the scopes locked so far. */
export interface EvaluationBatch {
  rules: RuleFile;
  locked: Set<string>;
}

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
    private readonly alerts: AlertRepository,
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

  /**
   * Starts a batch: the per-scope locks of the scopes it may touch, in one
   * statement in scope order (replicas and the ticker queue instead of
   * deadlocking), and the rule set, read once for all its evaluations.
   */
  async begin(tx: Queryable, scopes: readonly string[]): Promise<EvaluationBatch> {
    const batch: EvaluationBatch = { rules: await this.ruleSet(tx), locked: new Set() };
    await this.lock(tx, batch, scopes, true);
    return batch;
  }

  /**
   * Scopes a batch touched, each with the metadata of the event that touched
   * it (what its alert events are caused by): the open alerts of all of them
   * are read in one statement and the workflow scopes' signals in two.
   */
  async evaluateMany(tx: Queryable, batch: EvaluationBatch, causes: ReadonlyMap<string, EventMetadata>, now = this.clock.now()): Promise<StoredEvent[]> {
    // The platform scope is evaluated only with a fresh observation of NATS, never from a message.
    const scopes = [...causes.keys()].filter((s) => s !== PLATFORM_SCOPE).sort();
    if (scopes.length === 0) return [];
    await this.lock(tx, batch, scopes);
    const open = await this.alerts.findOpenByScopes(tx, scopes);
    const workflowIds = scopes.filter((s) => s.startsWith('workflow:')).map((s) => s.slice('workflow:'.length));
    const workflowConditions = await this.workflows.evaluateMany(tx, workflowIds, batch.rules, now);
    const recorded: StoredEvent[] = [];
    for (const scope of scopes) {
      const conditions = scope.startsWith('workflow:') ? (workflowConditions.get(scope.slice('workflow:'.length)) ?? []) : await this.conditionsOf(tx, scope, batch.rules, now);
      recorded.push(...(await this.engine.reconcile(tx, scope, conditions, batch.rules, now, causes.get(scope)!, open.get(scope))));
    }
    return recorded;
  }

  /**
   * Locks in array (scope) order. `jitOff` also turns JIT off for the rest of
   * the transaction: a batch's statements are many short index lookups whose
   * estimated cost crosses jit_above_cost, and compiling one (~75 ms on the
   * 2-core machine) cost more than running it.
   */
  private async lock(tx: Queryable, batch: EvaluationBatch, scopes: readonly string[], jitOff = false): Promise<void> {
    const missing = [...new Set(scopes)].filter((s) => !batch.locked.has(s)).sort();
    if (missing.length === 0 && !jitOff) return;
    await tx.query(`SELECT ${jitOff ? "set_config('jit', 'off', true), " : ''}count(pg_advisory_xact_lock(hashtext('alerter:' || s))) FROM unnest($1::text[]) AS s`, [missing]);
    for (const s of missing) batch.locked.add(s);
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
