/** Injection tokens for what the executor's handlers share. */
export const CLOCK = Symbol('CLOCK');
export const RANDOM = Symbol('RANDOM');
export const POOL = Symbol('POOL');
