import { execFileSync } from 'node:child_process';

export interface Infrastructure {
  databaseUrl: string;
  natsUrl: string;
  stop(): Promise<void>;
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

let shared: Promise<Infrastructure> | undefined;

/**
 * Where the tests' Postgres and NATS live. DATABASE_URL / NATS_URL win; when
 * both are unset and a Docker engine answers, testcontainers starts them;
 * otherwise the local defaults (127.0.0.1) are used, as on CI machines.
 */
export function infrastructure(): Promise<Infrastructure> {
  shared ??= resolve();
  return shared;
}

async function resolve(): Promise<Infrastructure> {
  const databaseUrl = process.env.DATABASE_URL;
  const natsUrl = process.env.NATS_URL;
  if (databaseUrl || natsUrl || process.env.STEWARD_TEST_NO_CONTAINERS === '1' || !dockerAvailable()) {
    return { databaseUrl: databaseUrl ?? DEFAULT_DATABASE_URL, natsUrl: natsUrl ?? DEFAULT_NATS_URL, stop: async () => {} };
  }
  // Loaded lazily: testcontainers is heavy and most runs never need it.
  const { GenericContainer, Wait } = await import('testcontainers');
  const [pg, nats] = await Promise.all([
    new GenericContainer('postgres:15')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
    new GenericContainer('nats:2.9.10').withCommand(['-js']).withExposedPorts(4222).start(),
  ]);
  return {
    databaseUrl: `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`,
    natsUrl: `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`,
    stop: async () => {
      await Promise.all([pg.stop(), nats.stop()]);
    },
  };
}
