import { createHash } from 'node:crypto';
import { issuesOf, ValidationError, type ValidationIssue } from '@steward/contracts';
import { RuleFileSchema, type RuleFile } from './rules.schema';
import { parseDocument } from 'yaml';

export const MAX_RULE_FILE_BYTES = 1024 * 1024;

/**
 * Parses and validates a rule file. A file with any error is rejected as a
 * whole, with every error and the path it is at (`rules[2].for: ...`), so
 * a half-applied rule set can never run.
 */
export function parseRuleFile(text: string, file = 'rules'): { rules: RuleFile; hash: string } {
  if (Buffer.byteLength(text) > MAX_RULE_FILE_BYTES) {
    throw new ValidationError(`${file} is larger than ${MAX_RULE_FILE_BYTES} bytes`, [{ path: '(root)', message: 'file too large' }]);
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues: ValidationIssue[] = doc.errors.map((e) => ({ path: e.linePos?.[0] ? `line ${e.linePos[0].line}` : '(root)', message: e.message.split('\n')[0]! }));
    throw new ValidationError(`${file} is not valid YAML: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  const parsed = RuleFileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issues = issuesOf(parsed.error);
    throw new ValidationError(`invalid alert rules in ${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return { rules: parsed.data, hash: createHash('sha256').update(text).digest('hex') };
}
