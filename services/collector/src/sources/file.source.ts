import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { permanent, transient } from '../capture/collect.error';
import { contentTypeOfPath } from './content-type';

export interface ReadFile {
  path: string;
  contentType: string;
  body: Buffer;
  modifiedAt: string;
}

/** Files a glob may match at most: a pattern that matches a whole disk is a mistake, not a capture. */
const MAX_MATCHES = 1000;

/**
 * File sources, confined to COLLECTOR_FILE_ROOTS: a path (absolute, or
 * relative to a root) or a glob (`*`, `**`, `?`, relative to each root).
 * Paths are compared after resolving symlinks, so neither `..` nor a link
 * leads outside the roots.
 */
export class FileSource {
  private roots: Promise<string[]> | undefined;

  constructor(private readonly rootDirs: readonly string[]) {}

  /** The files a spec designates, sorted, each inside a root. */
  async list(spec: { path: string } | { glob: string }): Promise<string[]> {
    const roots = await this.realRoots();
    if (roots.length === 0) throw permanent('file_source_disabled', 'file sources are disabled: COLLECTOR_FILE_ROOTS is empty');
    if ('path' in spec) {
      const candidates = isAbsolute(spec.path) ? [spec.path] : roots.map((r) => join(r, spec.path));
      for (const candidate of candidates) {
        const real = await realpath(candidate).catch(() => undefined);
        if (real === undefined) continue;
        this.assertInside(real, roots, spec.path);
        return [real];
      }
      // A path that does not exist yet is still refused at once when it could only ever be outside the roots.
      if (!candidates.some((p) => roots.some((r) => inside(resolve(p), r)))) throw outside(spec.path, roots);
      throw transient('file_not_found', `no file ${spec.path} in ${roots.join(', ')}`);
    }
    if (isAbsolute(spec.glob) || spec.glob.split(/[\\/]/).includes('..')) throw permanent('invalid_spec', `the glob ${spec.glob} must be relative to the file roots, without ..`);
    const pattern = globRegex(spec.glob);
    const found: string[] = [];
    for (const root of roots) {
      for await (const file of walk(root)) {
        const rel = relative(root, file).split(sep).join('/');
        if (!pattern.test(rel)) continue;
        const real = await realpath(file).catch(() => undefined);
        if (real === undefined || !roots.some((r) => inside(real, r))) continue;
        found.push(real);
        if (found.length > MAX_MATCHES) throw permanent('too_many_files', `the glob ${spec.glob} matches more than ${MAX_MATCHES} files`);
      }
    }
    if (found.length === 0) throw transient('no_files_matched', `no file matches ${spec.glob} in ${roots.join(', ')}`);
    return [...new Set(found)].sort();
  }

  /**
   * Reads one file that list() returned. The path was checked when it was
   * listed; a writer in a file root could swap a link in between, so the file
   * is opened without following a final symlink, and what was opened is
   * checked again: its path must still resolve inside a root, to the very
   * file (device and inode) the handle holds.
   */
  async read(path: string, maxBytes: number): Promise<ReadFile> {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP') throw permanent('path_outside_roots', `${path} became a symbolic link after it was listed; it is not read`);
      throw err;
    });
    try {
      const info = await handle.stat();
      await this.assertStillInside(path, info);
      if (!info.isFile()) throw permanent('invalid_spec', `${path} is not a regular file`);
      if (info.size > maxBytes) throw permanent('body_too_large', `${path} has ${info.size} bytes; the limit is ${maxBytes} bytes`);
      // Read at most one byte past the limit: a file growing under us is refused, never read whole.
      const buffer = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, 0);
      if (bytesRead > maxBytes) throw permanent('body_too_large', `${path} grew past the limit of ${maxBytes} bytes while being read`);
      return { path, contentType: contentTypeOfPath(path), body: buffer.subarray(0, bytesRead), modifiedAt: info.mtime.toISOString() };
    } finally {
      await handle.close();
    }
  }

  private async assertStillInside(path: string, opened: { dev: number; ino: number }): Promise<void> {
    const roots = await this.realRoots();
    const real = await realpath(path).catch(() => undefined);
    const now = real === undefined ? undefined : await stat(real).catch(() => undefined);
    if (real === undefined || !roots.some((r) => inside(real, r)) || now === undefined || now.dev !== opened.dev || now.ino !== opened.ino) {
      throw permanent('path_outside_roots', `${path} changed while it was read (a link was swapped): the opened file is not the one inside the collector's file roots`);
    }
  }

  private realRoots(): Promise<string[]> {
    this.roots ??= Promise.all(this.rootDirs.map((r) => realpath(resolve(r)).catch(() => resolve(r))));
    return this.roots;
  }

  private assertInside(real: string, roots: string[], asked: string): void {
    if (!roots.some((r) => inside(real, r))) throw outside(asked, roots);
  }
}

function outside(asked: string, roots: string[]) {
  return permanent('path_outside_roots', `${asked} is outside the collector's file roots (${roots.join(', ')})`);
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function* walk(dir: string, depth = 0): AsyncGenerator<string> {
  if (depth > 20) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) yield* walk(full, depth + 1);
    else if (e.isFile() || e.isSymbolicLink()) yield full;
  }
}

/** `*` within a segment, `**` across segments, `?` one character; everything else literal. */
export function globRegex(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
