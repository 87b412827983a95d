/** Injection tokens for what the cost tracker's handlers share. */
export const POOL = Symbol('POOL');
export const CLOCK = Symbol('CLOCK');
export const COST_SERVICES = Symbol('COST_SERVICES');
