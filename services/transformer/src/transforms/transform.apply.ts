import { hash } from 'node:crypto';
import { load } from 'cheerio';
import { parse as parseCsv } from 'csv-parse/sync';
import { formatPath } from '@steward/contracts';
import { MAX_KEY_LENGTH, type CaptureInfo, type Transform } from './transform.define';

/** One valid row of a capture, ready to upsert. */
export interface TransformedRow {
  key: string;
  data: Record<string, unknown>;
  /** `data` as canonical JSON: what is stored and what is hashed (serialised once). */
  json: string;
  /** sha-256 of the canonical JSON of `data`: an unchanged row is one whose hash did not move. */
  hash: string;
}

/** One refused row, kept with its reason and what it was. */
export interface QuarantinedRow {
  rowIndex: number;
  reason: string;
  issues: Array<{ path: string; message: string }>;
  raw: unknown;
}

export interface TransformOutput {
  /** Candidate rows the body held (valid + quarantined). */
  total: number;
  rows: TransformedRow[];
  quarantined: QuarantinedRow[];
}

/** The whole capture could not be transformed: recorded as transformation.failed, never retried (the raw bytes do not change). */
export class CaptureTransformError extends Error {
  constructor(
    readonly code: 'unparseable' | 'extract_failed' | 'body_missing',
    message: string,
  ) {
    super(message);
    this.name = 'CaptureTransformError';
  }
}

/**
 * Runs one capture body through a transform: parse, extract, validate each
 * candidate row against the output schema and key it. Pure: no I/O. A bad
 * row is quarantined with the zod issues (path and message) and never stops
 * the others; two rows with one key keep the later one.
 */
export function applyTransform(transform: Transform, body: Buffer | string, capture: CaptureInfo): TransformOutput {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const candidates = extract(transform, text, capture);
  const byKey = new Map<string, TransformedRow>();
  const quarantined: QuarantinedRow[] = [];
  candidates.forEach((raw, rowIndex) => {
    const parsed = transform.schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: formatPath(i.path) || '(row)', message: i.message }));
      quarantined.push({ rowIndex, reason: issues.map((i) => `${i.path}: ${i.message}`).join('; ').slice(0, 2000), issues, raw: jsonSafe(raw) });
      return;
    }
    const data = parsed.data as Record<string, unknown>;
    let key: string;
    try {
      key = transform.keyOf(data);
      if (key.length > MAX_KEY_LENGTH) throw new Error(`key is ${key.length} characters, at most ${MAX_KEY_LENGTH}`);
    } catch (err) {
      const message = (err as Error).message;
      quarantined.push({ rowIndex, reason: `key: ${message}`, issues: [{ path: 'key', message }], raw: jsonSafe(raw) });
      return;
    }
    byKey.delete(key); // re-insert so the later row keeps its place in order
    const json = canonicalJson(data);
    byKey.set(key, { key, data, json, hash: sha256(json) });
  });
  return { total: candidates.length, rows: [...byKey.values()], quarantined };
}

function extract(transform: Transform, text: string, capture: CaptureInfo): unknown[] {
  let parsed: unknown;
  try {
    if (transform.parser === 'json') parsed = JSON.parse(text);
    else if (transform.parser === 'csv') parsed = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true, delimiter: transform.delimiter ?? ',' });
    else parsed = load(text);
  } catch (err) {
    throw new CaptureTransformError('unparseable', `${transform.parser} body of capture ${capture.captureId} does not parse: ${(err as Error).message}`);
  }
  if (transform.extract) {
    let rows: unknown;
    try {
      rows = (transform.extract as (p: unknown, c: CaptureInfo) => unknown)(parsed, capture);
    } catch (err) {
      throw new CaptureTransformError('extract_failed', `${transform.ref} extract threw on capture ${capture.captureId}: ${(err as Error).message}`);
    }
    if (!Array.isArray(rows)) throw new CaptureTransformError('extract_failed', `${transform.ref} extract returned ${typeof rows}, expected an array of rows`);
    return rows;
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * JSON with object keys sorted (by UTF-16 code unit, as `<` compares): the
 * same content always hashes the same. Undefined object members are left
 * out, undefined array items and holes are null, a Date is its ISO string.
 * Built in one pass: this runs once per row on the backfill's hot path.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object' || value instanceof Date) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : canonicalJson(v);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

export function contentHash(data: unknown): string {
  return sha256(canonicalJson(data));
}

/** One-shot hashing: no Hash object per row, the same digest. */
function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

/** What a quarantined candidate was, as storable JSON (an HTML extract may hand back anything). */
function jsonSafe(raw: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(raw) ?? 'null');
  } catch {
    return String(raw);
  }
}
