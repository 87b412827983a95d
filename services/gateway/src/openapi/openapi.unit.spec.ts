import { Validator } from '@seriousme/openapi-schema-validator';
import { API_CONTROLLERS } from '../api.controllers';
import { endpointsOf } from '../http/endpoint.registry';
import { openApiDocument } from './openapi.controller';

describe('OpenAPI document', () => {
  const doc = openApiDocument() as any;

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator does reject a broken document (so the check above can fail).
    const broken = structuredClone(doc);
    broken.paths['/api/v1/timeline'].get.parameters[0].in = 'somewhere';
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('describes every route with bearer security, its parameters from the handler schemas and its error answers', () => {
    const endpoints = endpointsOf(API_CONTROLLERS);
    expect(endpoints.length).toBeGreaterThan(30);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'stw_<id>_<secret>' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const e of endpoints) {
      const op = doc.paths[`/api/v1${e.path}`.replace(/:(\w+)/g, '{$1}')]?.[e.method.toLowerCase()];
      expect({ route: `${e.method} ${e.path}`, documented: op !== undefined }).toEqual({ route: `${e.method} ${e.path}`, documented: true });
      expect(op.responses).toHaveProperty('401');
      expect(op.responses).toHaveProperty('403');
      if (e.body) expect(op.requestBody.content['application/json'].schema).toBeDefined();
    }
    const timeline = doc.paths['/api/v1/timeline'].get;
    expect(timeline.parameters.map((p: { name: string }) => p.name)).toEqual(['run', 'correlation', 'workflow', 'alert', 'since', 'cursor', 'limit']);
    expect(timeline.parameters.find((p: { name: string }) => p.name === 'since').schema).toMatchObject({ type: 'string', pattern: expect.any(String) });
    const cancel = doc.paths['/api/v1/runs/{id}/cancel'].post;
    expect(cancel.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(Object.keys(cancel.responses)).toEqual(expect.arrayContaining(['200', '202', '400', '404', '409', '503']));
    expect(doc.paths['/api/v1/tokens'].post.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['name', 'role'],
      properties: { role: { enum: ['viewer', 'operator', 'admin'] } },
      additionalProperties: false,
    });
  });
});
