import { NON_WORKFLOW_SIGNALS, type AlertRule, type RuleFile } from '../rules/rules.schema';

const indexes = new WeakMap<RuleFile, RuleIndex>();

/**
 * The declared rules that watch each workflow, in rule-file order, so a
 * batch touching 200 workflows does not scan a rule set of 1,000 rules 200
 * times. Built once per rule set (the repository hands out one RuleFile
 * object per applied hash).
 */
export class RuleIndex {
  private readonly named = new Map<string, Array<{ at: number; rule: AlertRule }>>();
  private readonly every: Array<{ at: number; rule: AlertRule }> = [];
  private readonly merged = new Map<string, AlertRule[]>();
  private everyRules: AlertRule[] | undefined;

  private constructor(rules: RuleFile) {
    rules.rules.forEach((rule, at) => {
      if (NON_WORKFLOW_SIGNALS.includes(rule.signal)) return;
      if (rule.workflows === undefined) {
        this.every.push({ at, rule });
        return;
      }
      for (const id of new Set(rule.workflows)) {
        const list = this.named.get(id) ?? [];
        list.push({ at, rule });
        this.named.set(id, list);
      }
    });
  }

  static of(rules: RuleFile): RuleIndex {
    let index = indexes.get(rules);
    if (index === undefined) {
      index = new RuleIndex(rules);
      indexes.set(rules, index);
    }
    return index;
  }

  /** Same rules, same order as filtering rules.rules by signal and `workflows`. */
  workflowRules(workflowId: string): AlertRule[] {
    let rules = this.merged.get(workflowId);
    if (rules === undefined) {
      const named = this.named.get(workflowId);
      // Workflows no rule names share one list; the named ones are bounded by the rule file.
      if (named === undefined) return (this.everyRules ??= this.every.map((r) => r.rule));
      rules = [...this.every, ...named].sort((a, b) => a.at - b.at).map((r) => r.rule);
      this.merged.set(workflowId, rules);
    }
    return rules;
  }
}
