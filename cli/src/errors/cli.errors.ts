import { exitCodeOf, type ErrorCode, type ValidationIssue } from '@steward/contracts';

/** The `error` object of the gateway's JSON error body, as the API contract defines it. */
export interface ApiErrorBody {
  code: string;
  message: string;
  issues?: ValidationIssue[];
  context?: Record<string, unknown>;
}

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'validation',
  'not_found',
  'concurrency',
  'illegal_state',
  'unauthorised',
  'forbidden',
  'unavailable',
  'internal',
]);

/**
 * The gateway answered with an error status. Exit codes follow the shared
 * error family (`exitCodeOf`); an unknown code (e.g. `timeout`) or a body that
 * is not ours (a proxy's HTML page) falls back to the HTTP status.
 */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody,
    readonly rawBody: unknown,
  ) {
    super(error.message);
    this.name = 'GatewayError';
  }

  get exitCode(): number {
    if (KNOWN_CODES.has(this.error.code)) return exitCodeOf(this.error.code as ErrorCode);
    return exitCodeForStatus(this.status);
  }
}

export function exitCodeForStatus(status: number): number {
  if (status === 400 || status === 422) return 2;
  if (status === 401 || status === 403) return 3;
  if (status === 404) return 4;
  return 1;
}

/**
 * A command ran to the end but what it reports is a failure (a failed run,
 * a failed verification, a replay that failed): exit 1, not a crash.
 */
export class OperationFailed extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly context: Record<string, unknown> = {},
    /** The `code` of the `--json` error body. */
    readonly code = 'failed',
  ) {
    super(message);
    this.name = 'OperationFailed';
  }
}

/** Ctrl-C while a request or a watch loop was in flight. */
export class Interrupted extends Error {
  readonly exitCode = 130;
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}
