import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderStateMachineDocs } from './state-machines.render';

// Rewrites the generated tables of docs/state-machines.md after a build:
// `node libs/workflow/dist/state-machines.cli.js`.
const target = join(__dirname, '..', '..', '..', 'docs', 'state-machines.md');
writeFileSync(target, renderStateMachineDocs(readFileSync(target, 'utf8')));
process.stdout.write(`wrote ${target}\n`);
