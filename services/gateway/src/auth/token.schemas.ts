import { z } from 'zod';
import { TeamNameSchema, TOKEN_ROLES } from '@steward/contracts';
import { PageQuery, Reason } from '../http/api.schemas';
import { TOKEN_ID } from './token.format';

export const CreateTokenBody = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'expected letters, digits and . _ @ - (it becomes the actor in the audit trail)'),
  role: z.enum(TOKEN_ROLES),
  teams: z.array(TeamNameSchema).max(50).optional().meta({ description: "teams the holder belongs to; approval steps' approvers may name them" }),
});

export const TokenIdParams = z.strictObject({
  id: z.string().regex(TOKEN_ID, 'expected a token id (16 hex characters, from tokens list)'),
});

export const ListTokensQuery = PageQuery.extend({
  revoked: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .meta({ description: 'also list revoked tokens' }),
});

export const RevokeTokenQuery = z.strictObject({ reason: Reason.optional() });

export const TokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(TOKEN_ROLES),
  teams: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
});

export const CreatedTokenSchema = TokenSchema.extend({
  token: z.string().meta({ description: 'the bearer token; shown only in this answer' }),
});

export const TokenPageSchema = z.object({ items: z.array(TokenSchema), next: z.string().optional() });
