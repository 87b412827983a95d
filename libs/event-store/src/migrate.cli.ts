// `pnpm db:migrate`: creates the database if needed and brings its schema up
// to date. Prints one line; exits 1 with the reason on failure.
import { ensureDatabase, redactUrl } from './database.bootstrap';
import { runMigrations } from './migrate.runner';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/steward';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const created = await ensureDatabase(url);
  const { applied, version } = await runMigrations(url);
  const what = applied.length === 0 ? 'already up to date' : `applied ${applied.map((m) => `${m.version}_${m.name}`).join(', ')}`;
  process.stdout.write(`${redactUrl(url)}: ${created ? 'created database, ' : ''}${what} (schema version ${version})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
