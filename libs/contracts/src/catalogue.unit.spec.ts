import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allEvents, renderCatalogue } from './index';

describe('event catalogue', () => {
  it('docs/events.md is generated from the current schemas (run `pnpm docs:events` after changing one)', () => {
    const onDisk = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'events.md'), 'utf8');
    expect(onDisk).toBe(renderCatalogue(allEvents));
  });

  it('lists every registered type with its JSON schema', () => {
    const md = renderCatalogue(allEvents);
    for (const d of allEvents) expect(md).toContain(`## ${d.type} (v${d.version})`);
    expect(md).toContain('"commandId"');
  });
});
