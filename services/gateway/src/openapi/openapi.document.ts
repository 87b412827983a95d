import { z } from 'zod';
import { ErrorBodySchema, PendingSchema } from '../http/api.schemas';
import { API_PREFIX, type EndpointSpec } from '../http/endpoint.decorator';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[]; description?: string };

/** The input side of a schema (what clients send), as JSON Schema 2020-12, which OpenAPI 3.1 uses as is. */
function jsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): object[] {
  if (!schema) return [];
  const s = jsonSchema(schema);
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: location,
    required: location === 'path' || (s.required ?? []).includes(name),
    ...(prop.description !== undefined && { description: prop.description }),
    schema: prop,
  }));
}

const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

function responses(e: EndpointSpec): Record<string, object> {
  const status = String(e.status ?? 200);
  const success =
    e.produces !== undefined
      ? { description: 'a stream of entries', content: { [e.produces]: { schema: { type: 'string' } } } }
      : { description: 'success', content: { 'application/json': { schema: e.response ? jsonSchema(e.response) : {} } } };
  const out: Record<string, object> = { [status]: success };
  const isCommand = e.service !== undefined && e.method !== 'GET';
  if (isCommand) out['202'] = { description: 'the owning service did not answer in time; the command stays queued', content: { 'application/json': { schema: { $ref: '#/components/schemas/Pending' } } } };
  out['400'] = error('bad input; `issues` names each field at fault');
  out['401'] = error('missing, unknown or revoked token');
  out['403'] = error("the token's role is too low; `context` says which role is needed");
  if (e.params || isCommand) out['404'] = error('unknown id');
  if (isCommand || e.path.startsWith('/tokens')) out['409'] = error('refused in the current state');
  if (e.body) out['413'] = error('request body too large');
  out['429'] = error('rate limit exceeded; see Retry-After');
  if (e.service !== undefined) out['503'] = error('the owning service is not running; `context.service` names it');
  return out;
}

function operationId(e: EndpointSpec): string {
  const words = e.path.split('/').filter(Boolean).map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w));
  return [e.method.toLowerCase(), ...words]
    .join('-')
    .replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase());
}

/** OpenAPI 3.1 for every @Endpoint, from the zod schemas the handlers validate with. */
export function buildOpenApiDocument(endpoints: EndpointSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const e of endpoints) {
    const path = `${API_PREFIX}${e.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...parameters(e.params, 'path'), ...parameters(e.query, 'query')];
    (paths[path] ??= {})[e.method.toLowerCase()] = {
      operationId: operationId(e),
      summary: e.summary,
      tags: [e.tag],
      description: `Needs the ${e.role} role or higher.${e.service ? ` Owned by the ${e.service} service.` : ''}`,
      ...(params.length > 0 && { parameters: params }),
      ...(e.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(e.body) } } } }),
      responses: responses(e),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Steward gateway API',
      version,
      description: 'Control-plane API of Steward, used by the `steward` CLI. Errors are `{ "error": { "code", "message", "issues"?, "context"? } }`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [...new Set(endpoints.map((e) => e.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'stw_<id>_<secret>' } },
      schemas: { Error: jsonSchema(ErrorBodySchema), Pending: jsonSchema(PendingSchema) },
    },
  };
}
