import { z } from 'zod';
import { defineEvent } from './registry';

// The collector's events. A capture is raw and kept forever: its stream is
// `capture-<fingerprint>`, appended once with expected `no-stream`, so a
// redelivered or retried step never captures twice. The transformer (live
// path) and the ledger's replays read these events; nothing rewrites them.

const when = z.iso.datetime({ offset: true });
const slug = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a lowercase slug');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha-256');

/** Source name: `<workflowId>.<stepId>` for workflow steps, or a configured source id. */
export const SourceNameSchema = z.string().regex(/^[a-z][a-z0-9_.-]{0,199}$/, 'expected a source name such as supplier-prices.fetch');

/** Where a capture came from in a run, when it came from one. */
const RunRef = z.object({ workflowId: slug, runId: z.string().min(1).max(200), stepId: slug, attempt: z.number().int().positive() }).partial();

export const CaptureRequestSchema = z.object({
  kind: z.enum(['http', 'file', 'custom']),
  /** http(s) URL with secret query values removed, a file path, or a handler name. */
  target: z.string().min(1).max(4000),
  method: z.string().max(10).optional(),
});

/** The body: inline (utf8 text or base64 bytes) under the collector's threshold, otherwise a content-addressed blob. */
export const CaptureBodySchema = z.discriminatedUnion('storage', [
  z.object({ storage: z.literal('inline'), encoding: z.enum(['utf8', 'base64']), data: z.string() }),
  z.object({ storage: z.literal('blob'), sha256 }),
]);
export type CaptureBody = z.infer<typeof CaptureBodySchema>;

export const RawCaptured = defineEvent({
  type: 'collection.raw_captured',
  version: 1,
  description: 'A fetch was kept raw: source, request fingerprint (idempotency key), body digest, content type, size, status, headers without secrets, duration, and the body inline or as a blob reference.',
  schema: z.object({
    captureId: z.uuid(),
    source: SourceNameSchema,
    ...RunRef.shape,
    /** sha-256 over source, request and inputs and the scheduled time: the same step occurrence always yields the same one. */
    fingerprint: sha256,
    request: CaptureRequestSchema,
    scheduledAt: when.optional(),
    status: z.number().int().min(0).max(999).optional(),
    contentType: z.string().max(300),
    size: z.number().int().nonnegative(),
    sha256,
    headers: z.record(z.string(), z.string()),
    durationMs: z.number().int().nonnegative(),
    body: CaptureBodySchema,
    capturedAt: when,
  }),
});

export const COLLECTION_FAILURE_CLASSES = ['transient', 'permanent'] as const;

export const CollectionFailed = defineEvent({
  type: 'collection.failed',
  version: 1,
  description: "A fetch failed: transient (timeout, connection, 5xx, 429) or permanent (other 4xx, body over the limit, invalid content type, refused destination), with a snapshot of what the source returned; the executor's retry policy acts on it.",
  schema: z.object({
    source: SourceNameSchema,
    ...RunRef.shape,
    fingerprint: sha256,
    request: CaptureRequestSchema,
    failureClass: z.enum(COLLECTION_FAILURE_CLASSES),
    error: z.object({ code: z.string().min(1).max(100), message: z.string().max(4000) }),
    /** From Retry-After on 429/503, in ms. */
    retryAfterMs: z.number().int().nonnegative().optional(),
    snapshot: z
      .object({
        status: z.number().int().optional(),
        headers: z.record(z.string(), z.string()).optional(),
        contentType: z.string().max(300).optional(),
        bodyExcerpt: z.string().max(4096).optional(),
      })
      .optional(),
    durationMs: z.number().int().nonnegative(),
    failedAt: when,
  }),
});

export const collectionEvents = [RawCaptured, CollectionFailed];
