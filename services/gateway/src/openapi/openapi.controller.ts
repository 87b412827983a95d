import { Controller, Get, Header, Inject } from '@nestjs/common';
import { endpointsOf } from '../http/endpoint.registry';
import { API_CONTROLLERS } from '../api.controllers';
import { buildOpenApiDocument } from './openapi.document';

export const OPENAPI_VERSION = '1.0.0';
export const OPENAPI_DOCUMENT = Symbol('OPENAPI_DOCUMENT');

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The API's own description, public like /healthz: it holds no data, only shapes. */
@Controller()
export class OpenApiController {
  private readonly document: Record<string, unknown>;
  private readonly html: string;

  constructor(@Inject(OPENAPI_DOCUMENT) document: Record<string, unknown>) {
    this.document = document;
    const rows = endpointsOf(API_CONTROLLERS)
      .map((e) => `<tr><td>${e.method}</td><td><code>/api/v1${escape(e.path)}</code></td><td>${e.role}</td><td>${escape(e.summary)}</td></tr>`)
      .join('\n');
    this.html = `<!doctype html><html><head><meta charset="utf-8"><title>Steward gateway API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td{padding:.2rem .6rem;vertical-align:top}code{white-space:nowrap}</style></head>
<body><h1>Steward gateway API</h1><p>OpenAPI 3.1: <a href="/api/docs/openapi.json">/api/docs/openapi.json</a>. Every route needs <code>Authorization: Bearer &lt;token&gt;</code> with at least the role shown.</p>
<table><thead><tr><th>method</th><th>path</th><th>role</th><th>what</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>`;
  }

  @Get('api/docs/openapi.json')
  json(): Record<string, unknown> {
    return this.document;
  }

  @Get('api/docs')
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return this.html;
  }
}


export function openApiDocument(): Record<string, unknown> {
  return buildOpenApiDocument(endpointsOf(API_CONTROLLERS), OPENAPI_VERSION);
}
