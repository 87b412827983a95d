export type FailureClass = 'transient' | 'permanent';

/** What the source returned when it failed, secrets removed. */
export interface FailureSnapshot {
  status?: number;
  headers?: Record<string, string>;
  contentType?: string;
  bodyExcerpt?: string;
}

/**
 * A fetch that failed, classified for the executor's retry policy:
 * transient (timeouts, connection errors, 5xx, 429) or permanent (other
 * 4xx, body over the limit, invalid content type, refused destination).
 */
export class CollectError extends Error {
  constructor(
    readonly code: string,
    readonly failureClass: FailureClass,
    message: string,
    readonly details: { retryAfterMs?: number; snapshot?: FailureSnapshot } = {},
  ) {
    super(message);
    this.name = 'CollectError';
  }

  get retryable(): boolean {
    return this.failureClass === 'transient';
  }
}

export const transient = (code: string, message: string, details?: CollectError['details']) => new CollectError(code, 'transient', message, details);
export const permanent = (code: string, message: string, details?: CollectError['details']) => new CollectError(code, 'permanent', message, details);
