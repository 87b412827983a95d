import { readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { checkTransform, TransformDefinitionError, type Transform } from './transform.define';

/** TRANSFORMER_TRANSFORMS: folders separated by `:` (`;` on Windows), as PATH is. */
export function transformDirsFromEnv(value: string): string[] {
  return value.split(delimiter).map((d) => d.trim()).filter((d) => d !== '');
}

/**
 * The transforms this transformer can run, by `name@version`. One dataset
 * version is made by exactly one transform: version N of dataset D is
 * whatever transform declares (dataset D, version N), so a replay through
 * `x@3` always lands beside the current version, never on top of it.
 */
export class TransformRegistry {
  private readonly byRef = new Map<string, Transform>();
  private readonly byDatasetVersion = new Map<string, Transform>();

  constructor(transforms: Iterable<Transform> = []) {
    for (const t of transforms) this.add(t);
  }

  add(t: Transform): void {
    const existing = this.byRef.get(t.ref);
    if (existing) throw new TransformDefinitionError(`transform ${t.ref} is defined twice: ${existing.modulePath} and ${t.modulePath}`, t.modulePath);
    const slot = `${t.dataset}@${t.version}`;
    const other = this.byDatasetVersion.get(slot);
    if (other) throw new TransformDefinitionError(`${t.ref} (${t.modulePath}) and ${other.ref} (${other.modulePath}) both write version ${t.version} of dataset ${t.dataset}`, t.modulePath);
    this.byRef.set(t.ref, t);
    this.byDatasetVersion.set(slot, t);
  }

  get(ref: string): Transform | undefined {
    return this.byRef.get(ref);
  }

  /** The transform of a name at a version, or its highest loaded version. */
  resolve(name: string, version?: number): Transform | undefined {
    if (version !== undefined) return this.byRef.get(`${name}@${version}`);
    let best: Transform | undefined;
    for (const t of this.byRef.values()) if (t.name === name && (best === undefined || t.version > best.version)) best = t;
    return best;
  }

  list(): Transform[] {
    return [...this.byRef.values()].sort((a, b) => a.ref.localeCompare(b.ref));
  }

  get size(): number {
    return this.byRef.size;
  }
}

/**
 * Loads every `*.js` module in the folders (not recursive; TypeScript users
 * build first). A module exports one definition (`module.exports = ...`) or
 * several named ones. Anything wrong stops the start, naming the file: a
 * transformer silently missing a version would fail every capture sent to it.
 */
export function loadTransforms(dirs: readonly string[]): TransformRegistry {
  const registry = new TransformRegistry();
  for (const dir of dirs) {
    const abs = resolve(dir);
    let entries: string[];
    try {
      entries = readdirSync(abs).filter((f) => f.endsWith('.js')).sort();
    } catch (err) {
      throw new TransformDefinitionError(`cannot read transform folder ${abs}: ${(err as Error).message}`, abs);
    }
    for (const file of entries) {
      const modulePath = join(abs, file);
      if (!statSync(modulePath).isFile()) continue;
      let mod: unknown;
      try {
        mod = require(modulePath);
      } catch (err) {
        throw new TransformDefinitionError(`transform module ${modulePath} failed to load: ${(err as Error)?.message ?? String(err)}`, modulePath);
      }
      const definitions = definitionsOf(mod);
      if (definitions.length === 0) throw new TransformDefinitionError(`transform module ${modulePath} exports no transform (expected objects with name, version, dataset, parser, schema, key)`, modulePath);
      for (const [exportName, value] of definitions) registry.add(checkTransform(value, modulePath, exportName));
    }
  }
  return registry;
}

function definitionsOf(mod: unknown): Array<[string, unknown]> {
  if (typeof mod !== 'object' || mod === null) return [];
  const record = mod as Record<string, unknown>;
  if ('parser' in record || 'schema' in record) return [['module.exports', mod]];
  return Object.entries(record).filter(([name, v]) => name !== '__esModule' && typeof v === 'object' && v !== null && ('parser' in v || 'schema' in v));
}
