import type { CheerioAPI } from 'cheerio';
import { z } from 'zod';

export const PARSERS = ['json', 'csv', 'html'] as const;
export type ParserKind = (typeof PARSERS)[number];

/** What `extract` receives besides the parsed body. */
export interface CaptureInfo {
  captureId: string;
  source: string;
  contentType: string;
  capturedAt: string;
}

/** The parsed body: JSON value, CSV records (header row as keys) or a cheerio document. */
export type Parsed<P extends ParserKind> = P extends 'json' ? unknown : P extends 'csv' ? Record<string, string>[] : CheerioAPI;

/**
 * A transform as its module declares it. `schema` may be a zod schema or a
 * function of the transformer's zod, so a plain `.js` module needs no zod of
 * its own (the way task handlers need no SDK import).
 */
export interface TransformModule<P extends ParserKind = ParserKind, Row = unknown> {
  name: string;
  version: number;
  dataset: string;
  parser: P;
  description?: string;
  /** CSV only: field delimiter (default ','). */
  delimiter?: string;
  /** Turns the parsed body into candidate rows; default: the JSON array (or value), or the CSV records. Required for html. */
  extract?: (parsed: Parsed<P>, capture: CaptureInfo) => unknown[];
  schema: z.ZodType<Row> | ((zod: typeof z) => z.ZodType<Row>);
  /** The natural key: a function of the validated row, or the fields that make it up. */
  key: ((row: Row) => string) | readonly string[];
  /** A numeric field whose largest relative move against the previous row is reported as `maxChangePct`. */
  changeField?: string;
}

/** A loaded, checked transform. */
export interface Transform {
  ref: string;
  name: string;
  version: number;
  dataset: string;
  parser: ParserKind;
  description?: string;
  delimiter?: string;
  extract?: (parsed: never, capture: CaptureInfo) => unknown[];
  schema: z.ZodType;
  keyOf: (row: Record<string, unknown>) => string;
  changeField?: string;
  /** The module it came from, for error messages. */
  modulePath: string;
}

/** Identity with types: lets a TypeScript transform module check its own definition. */
export function defineTransform<P extends ParserKind, Row>(definition: TransformModule<P, Row>): TransformModule<P, Row> {
  return definition;
}

export class TransformDefinitionError extends Error {
  constructor(message: string, readonly modulePath: string) {
    super(message);
    this.name = 'TransformDefinitionError';
  }
}

const SLUG = /^[a-z][a-z0-9_-]{0,62}$/;
export const MAX_KEY_LENGTH = 1000;

/**
 * Checks one exported definition and turns it into a Transform; every
 * problem names the module and the field, so a bad deploy stops at start
 * with a message that says where to look.
 */
export function checkTransform(value: unknown, modulePath: string, exportName: string): Transform {
  const where = `transform module ${modulePath} (export ${exportName})`;
  const fail = (field: string, message: string): never => {
    throw new TransformDefinitionError(`${where}: ${field}: ${message}`, modulePath);
  };
  if (typeof value !== 'object' || value === null) return fail('definition', 'expected an object built with defineTransform');
  const d = value as Record<string, unknown>;
  if (typeof d.name !== 'string' || !SLUG.test(d.name)) fail('name', 'expected a lowercase slug such as supplier-prices');
  if (typeof d.version !== 'number' || !Number.isInteger(d.version) || d.version < 1 || d.version > 999_999_999) fail('version', 'expected a positive integer');
  if (typeof d.dataset !== 'string' || !SLUG.test(d.dataset)) fail('dataset', 'expected a lowercase slug');
  if (typeof d.parser !== 'string' || !(PARSERS as readonly string[]).includes(d.parser)) fail('parser', `expected one of ${PARSERS.join(', ')}`);
  if (d.extract !== undefined && typeof d.extract !== 'function') fail('extract', 'expected a function (parsed, capture) => rows');
  if (d.parser === 'html' && d.extract === undefined) fail('extract', 'html transforms must extract their rows from the document');
  if (d.delimiter !== undefined && (typeof d.delimiter !== 'string' || d.delimiter.length !== 1)) fail('delimiter', 'expected one character');
  if (d.changeField !== undefined && typeof d.changeField !== 'string') fail('changeField', 'expected a field name');
  let schema: unknown = d.schema;
  if (typeof schema === 'function' && !isZod(schema)) {
    try {
      schema = (schema as (zod: typeof z) => unknown)(z);
    } catch (err) {
      fail('schema', `the schema function threw: ${(err as Error).message}`);
    }
  }
  if (!isZod(schema)) fail('schema', 'expected a zod schema, or a function (z) => schema');
  const keyOf = keyFunction(d.key, (m) => fail('key', m));
  return {
    ref: `${d.name as string}@${d.version as number}`,
    name: d.name as string,
    version: d.version as number,
    dataset: d.dataset as string,
    parser: d.parser as ParserKind,
    ...(typeof d.description === 'string' && { description: d.description }),
    ...(typeof d.delimiter === 'string' && { delimiter: d.delimiter }),
    ...(typeof d.extract === 'function' && { extract: d.extract as Transform['extract'] }),
    schema: schema as z.ZodType,
    keyOf,
    ...(typeof d.changeField === 'string' && { changeField: d.changeField }),
    modulePath,
  };
}

function isZod(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function';
}

function keyFunction(key: unknown, fail: (message: string) => never): (row: Record<string, unknown>) => string {
  if (typeof key === 'function') {
    return (row) => {
      const k = (key as (r: unknown) => unknown)(row);
      if (typeof k !== 'string' || k === '') throw new Error(`key function returned ${JSON.stringify(k)}, expected a non-empty string`);
      return k;
    };
  }
  if (Array.isArray(key) && key.length > 0 && key.every((f) => typeof f === 'string' && f !== '')) {
    const fields = key as string[];
    return (row) => {
      const parts = fields.map((f) => {
        const v = row[f];
        if (v === undefined || v === null || v === '') throw new Error(`key field "${f}" is empty`);
        return typeof v === 'string' ? v : JSON.stringify(v);
      });
      // One field is the key itself; several are JSON so "a|b" + "c" never equals "a" + "b|c".
      return parts.length === 1 ? parts[0]! : JSON.stringify(parts);
    };
  }
  return fail('expected a function (row) => string or a non-empty list of field names');
}
