import { readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { handlersOfModule } from './handler.define';

/**
 * Where a handler lives. The pool only needs the path: each attempt loads
 * the module afresh in its own process, so a handler's module state never
 * outlives one attempt.
 */
export interface HandlerRegistration {
  name: string;
  modulePath: string;
}

export class HandlerLoadError extends Error {
  constructor(message: string, readonly modulePath?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HandlerLoadError';
  }
}

/** STEWARD_HANDLERS: folders separated by `:` (`;` on Windows), as PATH is. */
export function handlerDirsFromEnv(value: string | undefined = process.env.STEWARD_HANDLERS): string[] {
  return (value ?? '').split(delimiter).map((d) => d.trim()).filter((d) => d !== '');
}

/**
 * Reads every `*.js` module in the folders (not recursive; TypeScript users
 * build first) and returns each handler it exports. A module that fails to
 * load, or two modules claiming one name, stop the start: a worker that
 * silently lacks a handler would fail every task sent to it.
 */
export function loadHandlers(dirs: readonly string[]): Map<string, HandlerRegistration> {
  const found = new Map<string, HandlerRegistration>();
  for (const dir of dirs) {
    const abs = resolve(dir);
    let entries: string[];
    try {
      entries = readdirSync(abs).filter((f) => f.endsWith('.js')).sort();
    } catch (err) {
      throw new HandlerLoadError(`cannot read handler folder ${abs}`, undefined, { cause: err });
    }
    for (const file of entries) {
      const modulePath = join(abs, file);
      if (!statSync(modulePath).isFile()) continue;
      let mod: unknown;
      try {
        mod = require(modulePath);
      } catch (err) {
        throw new HandlerLoadError(`handler module ${modulePath} failed to load: ${(err as Error)?.message ?? String(err)}`, modulePath, { cause: err });
      }
      for (const handler of handlersOfModule(mod)) {
        const existing = found.get(handler.name);
        if (existing && existing.modulePath !== modulePath) {
          throw new HandlerLoadError(`handler "${handler.name}" is defined twice: ${existing.modulePath} and ${modulePath}`, modulePath);
        }
        found.set(handler.name, { name: handler.name, modulePath });
      }
    }
  }
  return found;
}
