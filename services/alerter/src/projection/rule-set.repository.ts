import type { Queryable } from '@steward/event-store';
import type { RuleFile } from '../rules/rules.schema';

export interface StoredRuleSet {
  hash: string;
  spec: RuleFile;
  file: string | null;
  appliedBy: string | null;
  appliedAt: Date;
}

/** The one applied declarative rule set (alerter_rule_sets, id 1); none until the first apply. */
export class RuleSetRepository {
  /** A rule set of 1,000 rules is a large document: read it again only when its hash changed. */
  private cached: StoredRuleSet | undefined;

  async current(tx: Queryable): Promise<StoredRuleSet | undefined> {
    const head = await tx.query<{ hash: string }>(`SELECT hash FROM alerter_rule_sets WHERE id = 1`);
    const hash = head.rows[0]?.hash;
    if (hash === undefined) return undefined;
    if (this.cached?.hash === hash) return this.cached;
    const { rows } = await tx.query<{ hash: string; spec: RuleFile; file: string | null; applied_by: string | null; applied_at: Date }>(
      `SELECT hash, spec, file, applied_by, applied_at FROM alerter_rule_sets WHERE id = 1`,
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    this.cached = { hash: r.hash, spec: r.spec, file: r.file, appliedBy: r.applied_by, appliedAt: r.applied_at };
    return this.cached;
  }

  async save(tx: Queryable, set: StoredRuleSet): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_rule_sets (id, hash, spec, file, applied_by, applied_at) VALUES (1, $1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash, spec = EXCLUDED.spec, file = EXCLUDED.file, applied_by = EXCLUDED.applied_by, applied_at = EXCLUDED.applied_at`,
      [set.hash, JSON.stringify(set.spec), set.file, set.appliedBy, set.appliedAt],
    );
  }
}

export const EMPTY_RULES: RuleFile = { receivers: [], rules: [], inhibitions: [], escalations: [] };
