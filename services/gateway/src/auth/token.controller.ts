import { Controller, Inject } from '@nestjs/common';
import type { z } from 'zod';
import { Caller, Endpoint, Input } from '../http/endpoint.decorator';
import type { Principal } from './roles.decorator';
import { CreatedTokenSchema, CreateTokenBody, ListTokensQuery, RevokeTokenQuery, TokenIdParams, TokenPageSchema, TokenSchema } from './token.schemas';
import { TokenService } from './token.service';

@Controller()
export class TokenController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  @Endpoint({
    method: 'POST',
    path: '/tokens',
    tag: 'tokens',
    role: 'admin',
    summary: 'Create a token; the answer is the only time its secret is shown',
    body: CreateTokenBody,
    status: 201,
    response: CreatedTokenSchema,
  })
  create(@Input('body') body: z.output<typeof CreateTokenBody>, @Caller() caller: Principal) {
    return this.tokens.create(body, caller);
  }

  @Endpoint({ method: 'GET', path: '/tokens', tag: 'tokens', role: 'admin', summary: 'List tokens (never their secrets)', query: ListTokensQuery, response: TokenPageSchema })
  list(@Input('query') query: z.output<typeof ListTokensQuery>) {
    return this.tokens.list({ cursor: query.cursor, limit: query.limit ?? 100, revoked: query.revoked });
  }

  @Endpoint({ method: 'GET', path: '/tokens/:id', tag: 'tokens', role: 'admin', summary: 'Show one token', params: TokenIdParams, response: TokenSchema })
  show(@Input('params') params: z.output<typeof TokenIdParams>) {
    return this.tokens.get(params.id);
  }

  @Endpoint({
    method: 'DELETE',
    path: '/tokens/:id',
    tag: 'tokens',
    role: 'admin',
    summary: 'Revoke a token; requests using it are refused from then on',
    params: TokenIdParams,
    query: RevokeTokenQuery,
    response: TokenSchema,
  })
  revoke(@Input('params') params: z.output<typeof TokenIdParams>, @Input('query') query: z.output<typeof RevokeTokenQuery>, @Caller() caller: Principal) {
    return this.tokens.revoke(params.id, caller, query.reason);
  }
}
