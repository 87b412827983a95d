import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { permanent, transient, CollectError } from '../capture/collect.error';
import type { DestinationGuard, VettedAddress } from './destination.guard';

export interface HttpFetchRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** For the whole fetch: every hop, connect to last byte. */
  timeoutMs: number;
  maxBodyBytes: number;
  maxRedirects: number;
  signal?: AbortSignal;
}

export interface HttpFetchResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** True when only the first bytes were read (a failed response: kept for the snapshot). */
  truncated: boolean;
  finalUrl: string;
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** A failed response's body is read only this far: enough for the snapshot, never the whole error page. */
const ERROR_BODY_BYTES = 4096;

/**
 * HTTP(S) over node:http with the destination guard in front of every hop:
 * redirects are followed by hand (up to the limit), each Location vetted
 * like the first URL, and each connection goes to the vetted address via a
 * custom `lookup`. Bodies stream in and the request is aborted as soon as
 * the limit is passed.
 */
export class HttpFetcher {
  constructor(
    private readonly guard: DestinationGuard,
    private readonly userAgent: string,
  ) {}

  async fetch(request: HttpFetchRequest): Promise<HttpFetchResponse> {
    const deadline = Date.now() + request.timeoutMs;
    let url = request.url;
    let method = request.method;
    let body = request.body;
    let headers = { ...request.headers };
    for (let hop = 0; ; hop++) {
      const vetted = await this.guard.vet(url);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw transient('timeout', `no response within ${request.timeoutMs} ms`);
      const res = await this.send(url, method, headers, body, vetted, remaining, request.signal);
      const location = res.message.headers.location;
      if (!REDIRECTS.has(res.message.statusCode ?? 0)) {
        const ok = (res.message.statusCode ?? 0) >= 200 && (res.message.statusCode ?? 0) < 300;
        const read = await readBody(res.message, ok ? request.maxBodyBytes : ERROR_BODY_BYTES, ok, res.timedOut);
        return { status: res.message.statusCode ?? 0, headers: flatten(res.message.headers), body: read.body, truncated: read.truncated, finalUrl: url.toString(), redirects: hop };
      }
      res.message.resume();
      const status = res.message.statusCode!;
      if (location === undefined || location === '') throw permanent('invalid_redirect', `${url.origin} answered ${status} without a Location`, { snapshot: { status, headers: flatten(res.message.headers) } });
      if (hop >= request.maxRedirects) throw permanent('too_many_redirects', `more than ${request.maxRedirects} redirects (last to ${safeUrl(location, url)})`, { snapshot: { status, headers: flatten(res.message.headers) } });
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw permanent('invalid_redirect', `${url.origin} redirected to an invalid Location`, { snapshot: { status } });
      }
      if (next.origin !== url.origin) headers = crossOriginHeaders(headers);
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'content-type' && k.toLowerCase() !== 'content-length'));
      }
      url = next;
    }
  }

  private send(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, vetted: VettedAddress, timeoutMs: number, signal?: AbortSignal): Promise<{ message: IncomingMessage; timedOut: () => boolean }> {
    return new Promise((resolve, reject) => {
      // Node calls lookup with all:true when it may try several addresses (autoSelectFamily); both forms return only the vetted one.
      const lookup: LookupFunction = (_host, options, callback) => {
        if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: VettedAddress[]) => void)(null, [vetted]);
        else callback(null, vetted.address, vetted.family);
      };
      const mod = url.protocol === 'https:' ? https : http;
      let timedOut = false;
      const req = mod.request(url, {
        method,
        headers: { 'user-agent': this.userAgent, ...headers, ...(body !== undefined && { 'content-length': String(body.byteLength) }) },
        lookup,
        agent: false,
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(transient('timeout', `no complete response within the request timeout`));
      }, timeoutMs);
      const onAbort = () => req.destroy(transient('cancelled', 'the fetch was cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      req.on('error', (err) => {
        cleanup();
        reject(err instanceof CollectError ? err : transient('connection_failed', `${url.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      req.on('response', (message) => {
        // The timer keeps running while the body streams; readBody sees it fire as an error on the message.
        message.on('close', cleanup);
        resolve({ message, timedOut: () => timedOut });
      });
      req.end(body);
    });
  }
}

async function readBody(message: IncomingMessage, limit: number, enforce: boolean, timedOut: () => boolean): Promise<{ body: Buffer; truncated: boolean }> {
  const declared = Number(message.headers['content-length']);
  if (enforce && Number.isFinite(declared) && declared > limit) {
    message.destroy();
    throw tooLarge(message, limit, `the response declares ${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of message as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > limit) {
        if (enforce) {
          message.destroy();
          throw tooLarge(message, limit, `more than ${limit} bytes arrived`);
        }
        chunks.push(chunk.subarray(0, chunk.byteLength - (size - limit)));
        message.destroy();
        return { body: Buffer.concat(chunks), truncated: true };
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof CollectError) throw err;
    if (timedOut()) throw transient('timeout', 'the body did not arrive within the request timeout');
    throw transient('connection_failed', `the connection broke while reading the body: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!message.complete) {
    if (timedOut()) throw transient('timeout', 'the body did not arrive within the request timeout');
    throw transient('connection_failed', 'the connection closed before the body was complete');
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

function tooLarge(message: IncomingMessage, limit: number, what: string): CollectError {
  return permanent('body_too_large', `${what}; the limit is ${limit} bytes`, { snapshot: { status: message.statusCode ?? 0, headers: flatten(message.headers) } });
}

export function flatten(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function safeUrl(location: string, base: URL): string {
  try {
    const u = new URL(location, base);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid)';
  }
}

/**
 * The headers a redirect to another origin still carries: content negotiation
 * and trace context only. Any other header the step set (an Authorization, an
 * `x-api-key` written into the spec, a custom token) was written for the
 * origin it names and stays with it.
 */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'accept-language', 'accept-encoding', 'user-agent', 'cache-control', 'pragma', 'traceparent', 'tracestate']);

export function crossOriginHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => CROSS_ORIGIN_HEADERS.has(k.toLowerCase())));
}
