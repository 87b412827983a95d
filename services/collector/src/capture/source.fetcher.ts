import type { Clock } from '../clock';
import { scrubHeaders, scrubText } from '../http/header.scrub';
import type { HttpFetcher } from '../http/http.fetcher';
import { parseRetryAfter } from '../http/retry-after';
import { isAccepted, mediaType } from '../sources/content-type';
import type { FileSource } from '../sources/file.source';
import type { HandlerSource } from '../sources/handler.source';
import { CollectError, permanent, transient, type FailureSnapshot } from './collect.error';
import { lowerKeys, requestUrl, type CollectStepSpec, type HttpSourceSpec } from './collect-spec';

/** One body a source gave back, ready to keep. */
export interface Fetched {
  status?: number;
  contentType: string;
  /** Response headers without secrets. */
  headers: Record<string, string>;
  body: Buffer;
  /** For file sources: the file read. */
  path?: string;
}

export interface FetchLimits {
  /** Epoch ms by which the attempt must be over. */
  deadline: number;
  /** The resolved auth secret (http sources with auth). */
  secret: string | undefined;
}

export interface FetchDefaults {
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxRedirects: number;
}

/** Dispatches a collect spec to its source kind and classifies what came back. */
export class SourceFetcher {
  constructor(
    private readonly http: HttpFetcher,
    private readonly files: FileSource,
    private readonly handlers: HandlerSource,
    private readonly defaults: FetchDefaults,
    private readonly clock: Clock,
  ) {}

  async fetch(spec: CollectStepSpec, identity: { runId: string; stepId: string; workflowId: string; attempt: number }, input: { inputs: Record<string, unknown>; outputs: Record<string, unknown> }, limits: FetchLimits): Promise<Fetched[]> {
    const maxBodyBytes = Math.min(spec.maxBodyBytes ?? this.defaults.maxBodyBytes, this.defaults.maxBodyBytes);
    const timeoutMs = Math.max(1, Math.min(spec.requestTimeoutMs ?? this.defaults.requestTimeoutMs, limits.deadline - Date.now()));
    const src = spec.source;
    let out: Fetched[];
    switch (src.kind) {
      case 'http':
        out = [await this.fetchHttp(src, spec, limits.secret, timeoutMs, maxBodyBytes)];
        break;
      case 'file': {
        const paths = await this.files.list(src);
        out = [];
        // One budget for all files of a glob: each file's limit alone would let a
        // thousand-file match hold a thousand bodies in memory at once.
        let left = maxBodyBytes;
        for (const path of paths) {
          const f = await this.files.read(path, left).catch((err: unknown) => {
            if (left < maxBodyBytes && err instanceof CollectError && err.code === 'body_too_large') {
              throw permanent('body_too_large', `the files matching ${'glob' in src ? String(src.glob) : path} hold more than ${maxBodyBytes} bytes together; narrow the glob or raise maxBodySize`);
            }
            throw err;
          });
          left -= f.body.byteLength;
          out.push({ contentType: f.contentType, headers: { 'last-modified': new Date(f.modifiedAt).toUTCString() }, body: f.body, path: f.path });
        }
        break;
      }
      case 'handler': {
        const got = await this.handlers.run({ handler: src.handler, input, identity, timeoutMs, maxBodyBytes });
        out = [{ ...(got.status !== undefined && { status: got.status }), contentType: got.contentType, headers: {}, body: got.body }];
        break;
      }
    }
    for (const f of out) {
      if (!isAccepted(f.contentType, spec.accept)) {
        throw permanent('invalid_content_type', `the source returned ${mediaType(f.contentType) || '(no content type)'}, the step accepts ${spec.accept!.join(', ')}`, { snapshot: snapshotOf(f.status, f.headers, f.contentType, f.body, []) });
      }
    }
    return out;
  }

  private async fetchHttp(src: HttpSourceSpec, spec: CollectStepSpec, secret: string | undefined, timeoutMs: number, maxBodyBytes: number): Promise<Fetched> {
    // As sent (header) and as a query string carries it: a server that echoes the URL must not leak it either.
    const secrets = secret === undefined ? [] : [...new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])];
    const headers = lowerKeys(src.headers);
    const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization'];
    if (src.auth !== undefined && src.auth.query === undefined && secret !== undefined) {
      const name = (src.auth.header ?? 'authorization').toLowerCase();
      const scheme = src.auth.scheme ?? (name === 'authorization' ? 'Bearer' : '');
      headers[name] = scheme === '' ? secret : `${scheme} ${secret}`;
      credentialHeaders.push(name);
    }
    let body: Buffer | undefined;
    if (src.body !== undefined && src.method !== 'GET' && src.method !== 'HEAD') {
      if (typeof src.body === 'string') body = Buffer.from(src.body);
      else {
        body = Buffer.from(JSON.stringify(src.body));
        headers['content-type'] ??= 'application/json';
      }
    }
    let res;
    try {
      res = await this.http.fetch({
        url: requestUrl(src, secret),
        method: src.method,
        headers,
        ...(body !== undefined && { body }),
        timeoutMs,
        maxBodyBytes,
        maxRedirects: spec.maxRedirects ?? this.defaults.maxRedirects,
      });
    } catch (err) {
      // Failures raised inside the fetcher carry raw headers: scrub them like a response's.
      const e = err as { details?: { snapshot?: FailureSnapshot } };
      if (e.details?.snapshot?.headers) e.details.snapshot.headers = scrubHeaders(e.details.snapshot.headers, secrets, credentialHeaders);
      throw err;
    }
    const clean = scrubHeaders(res.headers, secrets, credentialHeaders);
    const contentType = res.headers['content-type'] ?? 'application/octet-stream';
    const status = res.status;
    if (status >= 200 && status < 300) return { status, contentType, headers: clean, body: res.body };
    const snapshot = snapshotOf(status, clean, contentType, res.body, secrets);
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.clock.now());
    const details = { snapshot, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    if (status === 429 || status >= 500) throw transient(`http_${status}`, `${new URL(res.finalUrl).origin} answered ${status}`, details);
    if (status >= 400) throw permanent(`http_${status}`, `${new URL(res.finalUrl).origin} answered ${status}`, details);
    throw permanent('unexpected_status', `${new URL(res.finalUrl).origin} answered ${status}, which is neither a success nor a redirect`, details);
  }
}

function snapshotOf(status: number | undefined, headers: Record<string, string>, contentType: string, body: Buffer, secrets: readonly string[]): FailureSnapshot {
  return {
    ...(status !== undefined && { status }),
    headers,
    contentType: contentType.slice(0, 300),
    bodyExcerpt: scrubText(body.subarray(0, 4096).toString('utf8'), secrets).slice(0, 4096),
  };
}
