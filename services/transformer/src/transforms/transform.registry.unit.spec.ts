import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTransforms } from './transform.registry';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'transforms-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const ok = (name: string, version: number, dataset = name) => `{ name: '${name}', version: ${version}, dataset: '${dataset}', parser: 'json', schema: (z) => z.object({ id: z.string() }), key: ['id'] }`;

describe('loading transform modules', () => {
  it('loads single and named exports by name@version and resolves the highest version', () => {
    const dir = folder({ 'a.js': `module.exports = ${ok('alpha', 1)};`, 'b.js': `exports.v2 = ${ok('alpha', 2)}; exports.beta = ${ok('beta', 1)}; exports.helper = 3;` });
    const registry = loadTransforms([dir]);
    expect(registry.list().map((t) => t.ref)).toEqual(['alpha@1', 'alpha@2', 'beta@1']);
    expect(registry.resolve('alpha')?.ref).toBe('alpha@2');
  });

  it('names the file and field of a bad definition', () => {
    const dir = folder({ 'bad.js': `module.exports = { name: 'x', version: 0, dataset: 'x', parser: 'json', schema: {}, key: ['id'] };` });
    expect(() => loadTransforms([dir])).toThrow(`transform module ${join(dir, 'bad.js')} (export module.exports): version: expected a positive integer`);
  });

  it('refuses a schema that is not zod, an html transform without extract, and an empty key', () => {
    expect(() => loadTransforms([folder({ 's.js': `module.exports = { name: 'x', version: 1, dataset: 'x', parser: 'json', schema: {}, key: ['id'] };` })])).toThrow(/schema: expected a zod schema/);
    expect(() => loadTransforms([folder({ 'h.js': `module.exports = { name: 'x', version: 1, dataset: 'x', parser: 'html', schema: (z) => z.object({}), key: ['id'] };` })])).toThrow(/extract: html transforms must extract/);
    expect(() => loadTransforms([folder({ 'k.js': `module.exports = { name: 'x', version: 1, dataset: 'x', parser: 'csv', schema: (z) => z.object({}), key: [] };` })])).toThrow(/key: expected a function/);
  });

  it('refuses two modules defining one version, or writing one dataset version', () => {
    expect(() => loadTransforms([folder({ 'a.js': `module.exports = ${ok('alpha', 1)};`, 'b.js': `module.exports = ${ok('alpha', 1)};` })])).toThrow(/alpha@1 is defined twice/);
    expect(() => loadTransforms([folder({ 'a.js': `module.exports = ${ok('alpha', 1, 'shared')};`, 'b.js': `module.exports = ${ok('beta', 1, 'shared')};` })])).toThrow(/both write version 1 of dataset shared/);
  });

  it('names a module that fails to load or exports nothing', () => {
    const dir = folder({ 'boom.js': `throw new Error('kaput');` });
    expect(() => loadTransforms([dir])).toThrow(`transform module ${join(dir, 'boom.js')} failed to load: kaput`);
    expect(() => loadTransforms([folder({ 'empty.js': `module.exports = { helper: () => 1 };` })])).toThrow(/exports no transform/);
    expect(() => loadTransforms(['/nonexistent/transforms'])).toThrow(/cannot read transform folder \/nonexistent\/transforms/);
  });
});
