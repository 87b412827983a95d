/** What one projection check reports: `detail` is one line for the table, the rest goes to --json. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  [extra: string]: unknown;
}

/**
 * A projection that can say whether its tables match a rebuild from the
 * event store. Services (and the gateway's own token table) register one
 * under PROJECTION_CHECKERS; `steward verify` runs them all.
 */
export interface ProjectionChecker {
  /** Shown as `projection:<name>`. */
  name: string;
  check(): Promise<CheckResult>;
}

export const PROJECTION_CHECKERS = Symbol('PROJECTION_CHECKERS');
