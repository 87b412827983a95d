/** Injection tokens for what the executor's handlers share. */
export const CLOCK = Symbol('CLOCK');
export const RANDOM = Symbol('RANDOM');
export const POOL = Symbol('POOL');
/** The group-commit batcher of `schedule.run_requested` (runRequestBatcher). */
export const RUN_REQUESTS = Symbol('RUN_REQUESTS');
/** The group-commit batcher of the workers' reports (commandBatcher). */
export const WORKER_REPORTS = Symbol('WORKER_REPORTS');
