import { formatPath, ValidationError, type ValidationIssue } from '@steward/contracts';
import { isNode, isPair, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { checkStepGraph, type PathIssue } from './workflow.graph';
import { PARSE_OPTIONS } from './workflow.fields';
import { workflowSchema, WORKFLOW_KEYS, type WorkflowDefinition } from './workflow.schema';

// From YAML text to a WorkflowDefinition, or ONE ValidationError that lists
// every problem of the file with its path, what was expected and what was
// found, so `steward workflows apply` can report them all at once.

/** A workflow file is configuration, not data; a larger one is a mistake or an attack. */
export const MAX_WORKFLOW_BYTES = 256 * 1024;

/** A ValidationIssue with where it is in the file, when the file was YAML. */
export interface WorkflowIssue extends ValidationIssue {
  line?: number;
  column?: number;
}

type Locate = (path: PropertyKey[]) => { line: number; column: number } | undefined;

/** Parses and validates a workflow file. Throws ValidationError listing every problem. */
export function parseWorkflow(yamlText: string, file?: string): WorkflowDefinition {
  if (Buffer.byteLength(yamlText, 'utf8') > MAX_WORKFLOW_BYTES) {
    throw invalid(file, [{ path: '(root)', message: `expected a file of at most ${MAX_WORKFLOW_BYTES / 1024} KiB` }]);
  }
  const lines = new LineCounter();
  // YAML 1.2 core schema: `on:` stays a key (YAML 1.1 would read it as true)
  // and an `at:` timestamp stays a string for the schema to check.
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, version: '1.2', schema: 'core' });
  if (doc.errors.length > 0) {
    throw invalid(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        const where = `line ${pos.line}:${pos.col}`;
        const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { path: '(yaml)', message: `${where}: ${first}`, line: pos.line, column: pos.col };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw invalid(file, [{ path: '(yaml)', message: err instanceof Error ? err.message : String(err) }]);
  }
  return validateWorkflow(data, file, locator(doc, lines));
}

/** Validates an already-decoded document (JSON from the API, or YAML decoded elsewhere). */
export function validateWorkflow(data: unknown, file?: string, locate?: Locate): WorkflowDefinition {
  if (data === null || data === undefined) throw invalid(file, [{ path: '(root)', message: 'expected a workflow definition, got an empty document' }]);
  const parsed = workflowSchema.safeParse(data, PARSE_OPTIONS);
  const issues: PathIssue[] = parsed.success ? [] : parsed.error.issues.flatMap(describe);
  issues.push(...checkStepGraph(data));
  if (issues.length === 0 && parsed.success) return parsed.data;
  const seen = new Set<string>();
  const unique = issues
    .map((i): WorkflowIssue => ({ path: formatPath(i.path), message: i.message, ...locate?.(i.path) }))
    .filter((i) => {
      const key = `${i.path}\u0000${i.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    // Document order reads best; issues without a position keep their place at the end.
    .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  throw invalid(file, unique);
}

function invalid(file: string | undefined, issues: WorkflowIssue[]): ValidationError {
  const what = file ?? 'workflow';
  const lines = issues.map((i) => `  ${i.path}: ${i.message}${i.line !== undefined && i.path !== '(yaml)' ? ` (line ${i.line})` : ''}`);
  return new ValidationError(`${what} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, issues, {
    ...(file !== undefined && { file }),
  });
}

/** How a value looks in a message: JSON, shortened. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describe(issue: z.core.$ZodIssue): PathIssue[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const allowed = path.length === 0 ? ` (expected one of ${WORKFLOW_KEYS.join(', ')})` : '';
    return issue.keys.map((key) => ({ path: [...path, key], message: `unknown key${allowed}` }));
  }
  const input = (issue as { input?: unknown }).input;
  const hasInput = 'input' in issue;
  if (hasInput && input === undefined && issue.code === 'invalid_type') return [{ path, message: `missing: ${issue.message}` }];
  if (hasInput && issue.message.startsWith('expected') && !issue.message.includes(', got ')) {
    return [{ path, message: `${issue.message}, got ${showValue(input)}` }];
  }
  return [{ path, message: issue.message }];
}

/** Maps an issue path to the line and column of the nearest node that exists in the file. */
function locator(doc: Document, lines: LineCounter): Locate {
  return (path) => {
    // Not up to the root: a missing top-level key has no place in the file.
    for (let n = path.length; n >= 1; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      const offset = isNode(node) ? node.range?.[0] : isPair(node) && isNode(node.key) ? node.key.range?.[0] : undefined;
      if (offset !== undefined) {
        const pos = lines.linePos(offset);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
}
