import { z } from 'zod';
import { defineEvent } from './registry';

/** Gateway roles, weakest first: each role may do everything the ones before it may. */
export const TOKEN_ROLES = ['viewer', 'operator', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/**
 * An API token was created. The plaintext token is never recorded; its scrypt
 * hash and salt are, so the gateway's token table can be rebuilt from the log
 * alone. The secret part is 256 random bits, so the hash does not make it
 * guessable; a bootstrap token chosen by a person is at least 24 characters.
 */
/** A team name as approvers lists and owners use it (e.g. pricing-team). */
export const TeamNameSchema = z.string().regex(/^[a-z][a-z0-9._-]{0,99}$/, 'expected a team name such as pricing-team');

export const TokenCreated = defineEvent({
  type: 'token.created',
  version: 1,
  description: 'An API token was created with a name and a role; only its salted scrypt hash is kept.',
  schema: z.object({
    tokenId: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    role: z.enum(TOKEN_ROLES),
    /** Teams the holder belongs to: an approval step's `approvers` may name them. */
    teams: z.array(TeamNameSchema).max(50).optional(),
    /** base64 */
    salt: z.string().min(1),
    /** base64 scrypt digest of the whole token string */
    hash: z.string().min(1),
    createdBy: z.string().min(1).max(200),
    bootstrap: z.boolean().optional(),
  }),
});

export const TokenRevoked = defineEvent({
  type: 'token.revoked',
  version: 1,
  description: 'An API token was revoked; requests using it are refused from then on.',
  schema: z.object({
    tokenId: z.string().min(1).max(64),
    revokedBy: z.string().min(1).max(200),
    reason: z.string().max(1000).optional(),
  }),
});

/**
 * The first admin token exists. Appended to stream `gateway-bootstrap` with
 * expected version no_stream, so of two gateways starting at once exactly
 * one creates it.
 */
export const GatewayBootstrapped = defineEvent({
  type: 'gateway.bootstrapped',
  version: 1,
  description: 'The gateway created its first admin token, from STEWARD_BOOTSTRAP_TOKEN or generated.',
  schema: z.object({
    tokenId: z.string().min(1).max(64),
    source: z.enum(['env', 'generated']),
  }),
});

/**
 * An operator asked a service to do something through the gateway. Recorded
 * before the command is sent, so the audit trail has the request even when
 * the owning service never answers.
 */
export const OperatorActionRecorded = defineEvent({
  type: 'operator.action_recorded',
  version: 1,
  description: 'An operator sent a command to a service through the gateway: who, what, why.',
  schema: z.object({
    action: z.string().min(1).max(200),
    service: z.string().min(1).max(100),
    command: z.string().min(1).max(100),
    commandId: z.string().min(1).max(100),
    target: z.record(z.string(), z.string()).optional(),
    reason: z.string().max(2000).optional(),
  }),
});

export const gatewayEvents = [TokenCreated, TokenRevoked, GatewayBootstrapped, OperatorActionRecorded];
