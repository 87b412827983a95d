import { isStewardError, ValidationError, exitCodeOf } from '@steward/contracts';
import { GatewayError, Interrupted, OperationFailed, type ApiErrorBody } from '../errors/cli.errors';
import type { Output } from './output.writer';

/** The operator-facing sentence for a gateway error, per the API contract. */
export function describeGatewayError(err: GatewayError): string[] {
  const { code, message, issues, context = {} } = err.error;
  const lines: string[] = [];
  if (code === 'unauthorised' || (err.status === 401 && code !== 'forbidden')) {
    lines.push('error: the token was refused; set STEWARD_TOKEN or run with --token');
  } else if (code === 'forbidden' || err.status === 403) {
    const role = context.role;
    const required = context.required;
    lines.push(
      role !== undefined && required !== undefined
        ? `error: your token's role (${String(role)}) cannot do this; needs ${formatRequired(required)}`
        : `error: ${message}`,
    );
  } else if (code === 'unavailable' || err.status === 503) {
    const service = context.service;
    lines.push(
      typeof service === 'string' && service !== ''
        ? `error: needs the ${service} service, which is not running`
        : `error: ${message}`,
    );
  } else if (code === 'internal' || (err.status >= 500 && code.startsWith('http_') === false)) {
    lines.push(`error: the gateway failed: ${message}`);
  } else {
    lines.push(`error: ${message}`);
  }
  // The gateway's message often is the issues themselves ("params.id: expected ..."): do not print them twice.
  for (const issue of issues ?? []) {
    const text = `${issue.path}: ${issue.message}`;
    if (!message.includes(text)) lines.push(`  ${text}`);
  }
  return lines;
}

function formatRequired(required: unknown): string {
  return Array.isArray(required) ? required.map(String).join(' or ') : String(required);
}

function jsonOf(err: unknown): { error: ApiErrorBody } {
  if (err instanceof GatewayError) {
    const raw = err.rawBody as { error?: unknown } | null;
    return raw && typeof raw === 'object' && raw.error ? (raw as { error: ApiErrorBody }) : { error: err.error };
  }
  if (err instanceof ValidationError) {
    const { issues: _issues, ...context } = err.context;
    return { error: { code: err.code, message: err.message, issues: err.issues, context } };
  }
  if (isStewardError(err)) return { error: { code: err.code, message: err.message, context: err.context } };
  if (err instanceof OperationFailed) return { error: { code: err.code, message: err.message, context: err.context } };
  return { error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
}

/** Prints an error the way the operator asked for (text or `--json`) and returns the exit code. */
export function reportError(err: unknown, out: Output): number {
  if (err instanceof Interrupted) return err.exitCode;
  const exitCode =
    err instanceof GatewayError || err instanceof OperationFailed
      ? err.exitCode
      : isStewardError(err)
        ? exitCodeOf(err.code)
        : 1;
  if (out.json) {
    out.errorJson(jsonOf(err));
    return exitCode;
  }
  if (err instanceof GatewayError) {
    for (const line of describeGatewayError(err)) out.note(line);
  } else if (isStewardError(err) || err instanceof OperationFailed) {
    out.note(`error: ${err.message}`);
  } else {
    // Not one of ours: a bug in the CLI. Say so rather than pretend it was the gateway.
    out.note(`error: steward failed unexpectedly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  return exitCode;
}
