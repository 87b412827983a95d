// @steward/testing: real Postgres and NATS JetStream for tests, one database
// and one JetStream namespace per test file, removed afterwards.
export { infrastructure } from './infrastructure';
export type { Infrastructure } from './infrastructure';
export { createTestDatabase, withDatabase } from './test-database';
export type { TestDatabase } from './test-database';
export { createTestNats } from './test-nats';
export type { TestNats } from './test-nats';
export { useTestEnvironment } from './test-environment';
export type { TestEnvironment, TestEnvironmentOptions } from './test-environment';
export { eventually } from './eventually';
export { describeHorizonHolders } from './horizon.holders';
export { freePort } from './free-port';
export { TestWorker, succeed, fail } from './test-worker';
export type { Job, Outcome } from './test-worker';
export { startStoreRelay } from './store-relay';
export { ServiceProcess } from './service-process';
export { startRebuildReplay } from './rebuild-replay';
export type { RebuildReplay } from './rebuild-replay';
