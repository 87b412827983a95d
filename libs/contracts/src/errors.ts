/**
 * The one error family. Every error carries a stable `code`; the gateway maps
 * codes to HTTP status and the CLI maps them to exit codes (DESIGN.md).
 */
export type ErrorCode =
  | 'validation'
  | 'not_found'
  | 'concurrency'
  | 'illegal_state'
  | 'unauthorised'
  | 'forbidden'
  | 'unavailable'
  | 'internal';

export interface ErrorContext {
  [key: string]: unknown;
}

export class StewardError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  toJSON(): { code: ErrorCode; message: string; context: ErrorContext } {
    return { code: this.code, message: this.message, context: this.context };
  }
}

export interface ValidationIssue {
  /** Dotted path with indexes, e.g. `steps[2].retry.maxAttempts` or `data.amount`. */
  path: string;
  message: string;
}

export class ValidationError extends StewardError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[] = [],
    context: ErrorContext = {},
  ) {
    super('validation', message, { ...context, issues });
  }
}

export class NotFoundError extends StewardError {
  constructor(what: string, id: string, context: ErrorContext = {}) {
    super('not_found', `${what} ${id} not found`, { ...context, what, id });
  }
}

/** Optimistic concurrency: the stream was not at the version the writer expected. */
export class ConcurrencyError extends StewardError {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: number | null,
  ) {
    super(
      'concurrency',
      `stream ${streamId}: expected version ${expected}, found ${actual === null ? 'no stream' : actual}`,
      { streamId, expected, actual },
    );
  }
}

export class IllegalStateError extends StewardError {
  constructor(message: string, context: ErrorContext = {}) {
    super('illegal_state', message, context);
  }
}

export class UnauthorisedError extends StewardError {
  constructor(message = 'missing or invalid token', context: ErrorContext = {}) {
    super('unauthorised', message, context);
  }
}

export class ForbiddenError extends StewardError {
  constructor(message: string, context: ErrorContext = {}) {
    super('forbidden', message, context);
  }
}

export class UnavailableError extends StewardError {
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('unavailable', message, context, options);
  }
}

const HTTP: Record<ErrorCode, number> = {
  validation: 400,
  unauthorised: 401,
  forbidden: 403,
  not_found: 404,
  concurrency: 409,
  illegal_state: 409,
  unavailable: 503,
  internal: 500,
};

/** Exit codes of the operator contract: 1 failed, 2 bad input, 3 not authorised, 4 not found. */
const EXIT: Record<ErrorCode, number> = {
  validation: 2,
  unauthorised: 3,
  forbidden: 3,
  not_found: 4,
  concurrency: 1,
  illegal_state: 1,
  unavailable: 1,
  internal: 1,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP[code];
}

export function exitCodeOf(code: ErrorCode): number {
  return EXIT[code];
}

export function isStewardError(err: unknown): err is StewardError {
  return err instanceof StewardError;
}
