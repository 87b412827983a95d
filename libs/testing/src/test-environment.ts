import { createTestDatabase, type TestDatabase } from './test-database';
import { createTestNats, type TestNats } from './test-nats';

export interface TestEnvironment {
  db: TestDatabase;
  nats: TestNats;
  /** Env vars a spawned Steward process needs to join this test's database and namespace. */
  env(): Record<string, string>;
  /**
   * Closes `resource` before the database is dropped. afterAll hooks run in
   * declaration order, so a test's own `pool.end()` would run after the drop.
   */
  track<T extends { end(): Promise<unknown> }>(resource: T): T;
}

export interface TestEnvironmentOptions {
  /** Prepares the fresh database, e.g. `(url) => migrate(url)`. */
  setupDatabase?: (url: string) => Promise<void>;
  label?: string;
}

/**
 * One database and one JetStream namespace for the calling test file:
 * created in beforeAll, removed in afterAll. Fields are valid inside tests.
 */
export function useTestEnvironment(options: TestEnvironmentOptions = {}): TestEnvironment {
  const holder = {} as { db?: TestDatabase; nats?: TestNats };
  const tracked: { end(): Promise<unknown> }[] = [];
  beforeAll(async () => {
    holder.db = await createTestDatabase(options.label);
    holder.nats = await createTestNats();
    await options.setupDatabase?.(holder.db.url);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(tracked.splice(0).map((r) => r.end()));
    await holder.nats?.cleanup();
    await holder.db?.drop();
  }, 60_000);
  return {
    get db() {
      if (!holder.db) throw new Error('test database is only available inside tests (after beforeAll)');
      return holder.db;
    },
    get nats() {
      if (!holder.nats) throw new Error('test NATS is only available inside tests (after beforeAll)');
      return holder.nats;
    },
    track(resource) {
      tracked.push(resource);
      return resource;
    },
    env() {
      return {
        DATABASE_URL: this.db.url,
        NATS_URL: this.nats.url,
        STEWARD_NAMESPACE: this.nats.namespace,
      };
    },
  };
}
