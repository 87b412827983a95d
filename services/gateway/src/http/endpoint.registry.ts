import type { Type } from '@nestjs/common';
import { endpointOf, type EndpointSpec } from './endpoint.decorator';

/** Every @Endpoint of the given controllers, for the OpenAPI document and the route-coverage tests. */
export function endpointsOf(controllers: Type[]): EndpointSpec[] {
  const out: EndpointSpec[] = [];
  for (const controller of controllers) {
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const spec = endpointOf(handler);
      if (spec) out.push(spec);
    }
  }
  return out;
}
