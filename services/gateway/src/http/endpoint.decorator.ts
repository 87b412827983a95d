import { applyDecorators, createParamDecorator, HttpCode, RequestMapping, RequestMethod, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { z } from 'zod';
import type { TokenRole } from '@steward/contracts';
import { Roles, type Principal } from '../auth/roles.decorator';
import { parseInput, type InputPart } from './input.parse';

export const ENDPOINT_KEY = 'steward:endpoint';
export const API_PREFIX = '/api/v1';

export interface EndpointResponse {
  description: string;
  schema?: z.ZodType;
}

/**
 * Everything about a route in one place: method, path, the role it needs,
 * the zod schemas its input is validated with, and what it answers. The
 * OpenAPI document is generated from these same objects, so the docs cannot
 * drift from what the handlers accept.
 */
export interface EndpointSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Under /api/v1, Express style: `/runs/:id/cancel`. */
  path: string;
  summary: string;
  tag: string;
  role: TokenRole;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Success status; 200 unless given. */
  status?: number;
  response?: z.ZodType;
  /** `text/event-stream` for SSE routes. */
  produces?: string;
  /** The service that owns the data or the command, for 503 and 202 answers. */
  service?: string;
}

const METHOD = { GET: RequestMethod.GET, POST: RequestMethod.POST, PUT: RequestMethod.PUT, DELETE: RequestMethod.DELETE } as const;

export function Endpoint(spec: EndpointSpec): MethodDecorator {
  return applyDecorators(
    SetMetadata(ENDPOINT_KEY, spec),
    Roles(spec.role),
    RequestMapping({ path: `${API_PREFIX}${spec.path}`, method: METHOD[spec.method] }),
    HttpCode(spec.status ?? 200),
  );
}

export function endpointOf(handler: object): EndpointSpec | undefined {
  return Reflect.getMetadata(ENDPOINT_KEY, handler) as EndpointSpec | undefined;
}

/** The request part, validated with the schema its @Endpoint declares (400 naming the field otherwise). */
export const Input = createParamDecorator((part: InputPart, ctx: ExecutionContext) => {
  const spec = endpointOf(ctx.getHandler());
  const schema = spec?.[part];
  if (!schema) throw new Error(`@Input('${part}') on a route whose @Endpoint declares no ${part} schema`);
  const req = ctx.switchToHttp().getRequest<Record<InputPart, unknown>>();
  return parseInput(schema, req[part], part);
});

export const PRINCIPAL = Symbol('steward.principal');

/** The caller, as the auth guard verified it. */
export const Caller = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<{ [PRINCIPAL]?: Principal }>()[PRINCIPAL];
  if (!principal) throw new Error('@Caller() on a route the auth guard did not authenticate');
  return principal;
});
