import { z } from 'zod';
import { permanent } from './collect.error';

// The collect step's spec as the executor queues it (`step.queued.spec`, the
// normalised CollectSpec of @steward/workflow, durations in ms). Read again
// here because an event is input: a spec this collector cannot serve fails
// the attempt permanently, naming the field, instead of guessing.

const httpSource = z.object({
  kind: z.literal('http'),
  url: z.string().regex(/^https?:\/\//i, 'expected an http(s) URL'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  body: z.unknown().optional(),
  auth: z.object({ secretRef: z.string().min(1), header: z.string().optional(), scheme: z.string().optional(), query: z.string().optional() }).optional(),
});
const fileSource = z.union([z.object({ kind: z.literal('file'), path: z.string().min(1) }), z.object({ kind: z.literal('file'), glob: z.string().min(1) })]);
const handlerSource = z.object({ kind: z.literal('handler'), handler: z.string().min(1) });

const specSchema = z.object({
  source: z.discriminatedUnion('kind', [httpSource, z.object({ kind: z.literal('file'), path: z.string().min(1).optional(), glob: z.string().min(1).optional() }), handlerSource]),
  rateLimit: z.object({ count: z.number().int().positive(), perMs: z.number().int().positive() }).optional(),
  concurrency: z.number().int().positive().optional(),
  requestTimeoutMs: z.number().int().positive().optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  maxRedirects: z.number().int().min(0).max(20).optional(),
  accept: z.array(z.string()).optional(),
});

export type HttpSourceSpec = z.infer<typeof httpSource>;
export type FileSourceSpec = z.infer<typeof fileSource>;
export type CollectStepSpec = Omit<z.infer<typeof specSchema>, 'source'> & { source: HttpSourceSpec | FileSourceSpec | z.infer<typeof handlerSource> };

export function parseCollectSpec(spec: unknown): CollectStepSpec {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw permanent('invalid_spec', `the collect spec is not valid at spec.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const s = parsed.data;
  if (s.source.kind === 'file') {
    const f = s.source;
    if ((f.path === undefined) === (f.glob === undefined)) throw permanent('invalid_spec', 'the collect spec is not valid at spec.source: expected exactly one of path, glob');
    return { ...s, source: f.path !== undefined ? { kind: 'file', path: f.path } : { kind: 'file', glob: f.glob! } };
  }
  return s as CollectStepSpec;
}

/**
 * The request as it is identified (fingerprint) and recorded (events):
 * everything that decides what is fetched, and nothing secret. The auth
 * secret is represented by its reference, so rotating a secret does not
 * make an old occurrence fetch again.
 */
export function describeRequest(spec: CollectStepSpec): { kind: 'http' | 'file' | 'custom'; target: string; method?: string; detail: Record<string, unknown> } {
  const src = spec.source;
  switch (src.kind) {
    case 'http': {
      const url = requestUrl(src, undefined);
      return {
        kind: 'http',
        target: url.toString(),
        method: src.method,
        detail: { url: url.toString(), method: src.method, headers: lowerKeys(src.headers), body: src.body, auth: src.auth },
      };
    }
    case 'file':
      return 'path' in src ? { kind: 'file', target: src.path, detail: { path: src.path } } : { kind: 'file', target: src.glob, detail: { glob: src.glob } };
    case 'handler':
      return { kind: 'custom', target: src.handler, detail: { handler: src.handler } };
  }
}

/** The URL with the spec's query merged in; the auth query parameter only when its secret is given. */
export function requestUrl(src: HttpSourceSpec, secret: string | undefined): URL {
  const url = new URL(src.url);
  for (const [k, v] of Object.entries(src.query).sort(([a], [b]) => (a < b ? -1 : 1))) url.searchParams.append(k, String(v));
  if (src.auth?.query !== undefined && secret !== undefined) url.searchParams.set(src.auth.query, secret);
  return url;
}

export function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
