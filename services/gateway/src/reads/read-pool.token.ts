/**
 * The gateway's read-only Postgres pool (STEWARD read role where configured).
 * Controllers that read another service's projection tables inject it and
 * build their repository over it; the gateway never writes those tables.
 */
export const READ_POOL = Symbol('READ_POOL');
