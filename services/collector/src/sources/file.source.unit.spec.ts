import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource } from './file.source';

describe('FileSource.read after list: a link swapped in between', () => {
  const root = mkdtempSync(join(tmpdir(), 'fs-root-'));
  const outside = mkdtempSync(join(tmpdir(), 'fs-outside-'));
  const files = new FileSource([root]);

  beforeAll(() => writeFileSync(join(outside, 'secret.txt'), 'not yours'));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads a listed file that did not change', async () => {
    mkdirSync(join(root, 'a'));
    writeFileSync(join(root, 'a', 'ok.csv'), 'x,y\n');
    const [path] = await files.list({ path: 'a/ok.csv' });
    await expect(files.read(path!, 100)).resolves.toMatchObject({ body: Buffer.from('x,y\n'), contentType: 'text/csv' });
  });

  it('refuses a file replaced by a symlink after it was listed', async () => {
    mkdirSync(join(root, 'b'));
    writeFileSync(join(root, 'b', 'prices.csv'), 'sku,price\n');
    const [path] = await files.list({ path: 'b/prices.csv' });
    rmSync(path!);
    symlinkSync(join(outside, 'secret.txt'), path!);
    await expect(files.read(path!, 100)).rejects.toMatchObject({ code: 'path_outside_roots', retryable: false });
  });

  it('refuses a file whose directory was swapped for a link to outside the roots', async () => {
    mkdirSync(join(root, 'c'));
    writeFileSync(join(root, 'c', 'secret.txt'), 'inside');
    const [path] = await files.list({ path: 'c/secret.txt' });
    renameSync(join(root, 'c'), join(root, 'c-old'));
    symlinkSync(outside, join(root, 'c'));
    await expect(files.read(path!, 100)).rejects.toMatchObject({ code: 'path_outside_roots' });
  });

  it('refuses something that is not a regular file', async () => {
    mkdirSync(join(root, 'd.csv'));
    await expect(files.read(join(root, 'd.csv'), 100)).rejects.toMatchObject({ code: 'invalid_spec' });
  });
});
