import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { ForbiddenError, StewardError, UnauthorisedError, type TokenRole } from '@steward/contracts';
import { API_PREFIX, PRINCIPAL } from '../http/endpoint.decorator';
import { RateLimitedError } from '../http/http-error.mapper';
import type { TokenBucketLimiter } from '../http/rate-limit.bucket';
import { hasRole, ROLES_KEY, type Principal } from './roles.decorator';
import { fingerprintOf } from './token.format';
import type { TokenService } from './token.service';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Global guard: every /api/v1 route needs a bearer token whose role is at
 * least the route's @Roles. A route that declares no role is refused, so a
 * forgotten decorator fails closed. The rate limit is checked before the
 * (slow) token verification, keyed by the presented token, so a client
 * hammering with a wrong token is throttled like any other.
 */
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly limiter: TokenBucketLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<IncomingMessage & { [PRINCIPAL]?: Principal }>();
    const required = this.reflector.getAllAndOverride<TokenRole | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (required === undefined) {
      if ((req.url ?? '').startsWith(`${API_PREFIX}/`)) throw new StewardError('internal', 'this route declares no role');
      return true; // health, metrics and the API docs are public
    }
    const bearer = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined) throw new UnauthorisedError('missing bearer token: send Authorization: Bearer <token>');
    const verdict = this.limiter.take(fingerprintOf(bearer));
    if (!verdict.ok) throw new RateLimitedError(verdict.retryAfterSeconds);
    const principal = await this.tokens.authenticate(bearer);
    if (!hasRole(principal.role, required)) {
      throw new ForbiddenError(`this needs the ${required} role; the token "${principal.name}" has ${principal.role}`, {
        role: principal.role,
        required,
      });
    }
    req[PRINCIPAL] = principal;
    return true;
  }
}
