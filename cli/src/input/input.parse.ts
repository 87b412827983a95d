import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ValidationError } from '@steward/contracts';
import { parseDuration } from './duration.parse';

function badInput(flag: string, message: string, detail = message): ValidationError {
  return new ValidationError(message, [{ path: flag, message: detail }]);
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Reads a file named on the command line; unreadable files are bad input (exit 2), named with their flag. */
export async function readInputFile(path: string, cwd: string, flag = '-f'): Promise<string> {
  try {
    return await readFile(resolve(cwd, path), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = FILE_PROBLEMS[code] ?? (err as Error).message;
    throw badInput(flag, `cannot read ${flag} ${path}: ${why}`);
  }
}

/** `--input '{"a":1}'` or `--input @file.json`; the value must be JSON. */
export async function parseJsonInput(text: string, cwd: string, flag = '--input'): Promise<unknown> {
  const fromFile = text.startsWith('@');
  const source = fromFile ? await readInputFile(text.slice(1), cwd, flag) : text;
  try {
    return JSON.parse(source) as unknown;
  } catch (err) {
    const where = fromFile ? `${flag} ${text}` : flag;
    throw badInput(flag, `${where} is not valid JSON: ${(err as Error).message}`);
  }
}

const TRANSFORM_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A transform version reference, `NAME@VERSION` (e.g. `supplier-prices@2`). */
export function parseTransformRef(text: string, flag = '--transform'): string {
  if (!TRANSFORM_REF.test(text)) {
    throw badInput(flag, `${flag} must look like NAME@VERSION (e.g. supplier-prices@2); got '${text}'`);
  }
  return text;
}

/** A silence matcher `name=value`; the value may contain '=' itself. */
export function parseMatcher(text: string, flag = '--match'): { name: string; value: string } {
  const at = text.indexOf('=');
  const name = at > 0 ? text.slice(0, at).trim() : '';
  const value = at > 0 ? text.slice(at + 1) : '';
  if (name === '' || value === '') {
    throw badInput(flag, `${flag} must look like name=value (e.g. workflow=supplier-prices); got '${text}'`);
  }
  return { name, value };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** An absolute ISO time, or a duration meaning "that long ago" (`--from 2h`). Returns ISO 8601 UTC. */
export function parseTimeArg(text: string, flag: string, now: Date): string {
  if (ISO_TIME.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (!Number.isNaN(ms)) return new Date(ms).toISOString();
  } else if (/^\d+[smhd]$/.test(text.trim())) {
    return new Date(now.getTime() - parseDuration(text, flag)).toISOString();
  }
  throw badInput(flag, `${flag} must be an ISO time like 2026-05-01T00:00:00Z or a duration ago like 2h; got '${text}'`);
}

export function parsePositiveNumber(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw badInput(flag, `${flag} must be a positive number; got '${text}'`);
  }
  return value;
}

export function parsePositiveInt(text: string, flag: string): number {
  const value = parsePositiveNumber(text, flag);
  if (!Number.isInteger(value)) throw badInput(flag, `${flag} must be a whole number; got '${text}'`);
  return value;
}

/**
 * Options that exclude each other, of which exactly one must be given
 * (`--source` | `--workflow`); returns the name of the one given.
 */
export function exactlyOne<K extends string>(given: Partial<Record<K, unknown>>, names: Record<K, string>): K {
  const present = (Object.keys(names) as K[]).filter((k) => given[k] !== undefined);
  const flags = (Object.keys(names) as K[]).map((k) => names[k]);
  if (present.length !== 1) {
    const list = flags.join(', ');
    const message =
      present.length === 0
        ? `give exactly one of ${list}`
        : `give exactly one of ${list}, not ${present.map((k) => names[k]).join(' and ')}`;
    throw badInput(flags.join('|'), message);
  }
  return present[0]!;
}
