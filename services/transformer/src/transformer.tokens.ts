/** Injection tokens for what the transformer's handlers share. */
export const POOL = Symbol('POOL');
export const CLOCK = Symbol('CLOCK');
