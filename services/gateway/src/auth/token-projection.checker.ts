import type { CheckResult, ProjectionChecker } from '../verify/projection.checker';
import { projectToken, type TokenRow } from './token.projection';
import type { TokenRepository } from './token.repository';

const FIELDS: Array<keyof TokenRow> = ['name', 'role', 'teams', 'salt', 'hash', 'createdAt', 'createdBy', 'revokedAt'];
const EXAMPLES = 5;

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** `gateway_tokens` compared with a fold of the token events, read in one snapshot. */
export class TokenProjectionChecker implements ProjectionChecker {
  readonly name = 'gateway_tokens';

  constructor(private readonly tokens: TokenRepository) {}

  async check(): Promise<CheckResult> {
    const { rows, events } = await this.tokens.snapshot();
    const rebuilt = new Map<string, TokenRow>();
    for (const e of events) projectToken(rebuilt, e);
    const table = new Map(rows.map((r) => [r.id, r]));
    const differences: string[] = [];
    for (const [id, expected] of rebuilt) {
      const actual = table.get(id);
      if (!actual) differences.push(`token ${id}: no row`);
      else {
        const fields = FIELDS.filter((f) => !same(actual[f], expected[f]));
        if (fields.length > 0) differences.push(`token ${id}: ${fields.join(', ')} differ`);
      }
    }
    for (const id of table.keys()) if (!rebuilt.has(id)) differences.push(`token ${id}: row without events`);
    if (differences.length === 0) return { ok: true, detail: `${rows.length} tokens match a rebuild from ${events.length} events` };
    return {
      ok: false,
      detail: `${differences.length} tokens differ from a rebuild: ${differences.slice(0, EXAMPLES).join('; ')}`,
      differences: differences.slice(0, 50),
    };
  }
}
