import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.txt': 'text/plain',
  '.xml': 'application/xml',
};

export function contentTypeOfPath(path: string): string {
  return BY_EXTENSION[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The media type without parameters, lowercase: `text/csv; charset=utf-8` -> `text/csv`. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Types whose bytes are kept as utf8 text when inline (if they are valid utf8). */
export function isTextual(contentType: string): boolean {
  const t = mediaType(contentType);
  return t.startsWith('text/') || /^application\/([\w.-]+\+)?(json|xml|csv|javascript|x-ndjson|yaml|x-yaml)$/.test(t) || t.endsWith('+json') || t.endsWith('+xml');
}

/** `accept` entries are exact types, `type/*` or `*\/*`. */
export function isAccepted(contentType: string, accept: readonly string[] | undefined): boolean {
  if (accept === undefined || accept.length === 0) return true;
  const t = mediaType(contentType);
  return accept.some((a) => {
    const want = a.toLowerCase();
    return want === '*/*' || want === t || (want.endsWith('/*') && t.startsWith(want.slice(0, -1)));
  });
}
