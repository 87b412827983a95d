import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCatalogue } from './catalogue';
import { allEvents } from './all.events';

// Writes docs/events.md; `pnpm docs:events` runs it after a build.
const target = join(__dirname, '..', '..', '..', 'docs', 'events.md');
writeFileSync(target, renderCatalogue(allEvents));
process.stdout.write(`wrote ${target} (${allEvents.length} event types)\n`);
