// @steward/event-store: the append-only event log in Postgres (optimistic
// concurrency, commit-safe readers), migrations, command handling and inbox.
export { EventStore } from './event.store';
export type { AppendResult, AppendOptions, EventStoreOptions, EncodedEvent } from './event.store';
export type { ExpectedVersion } from './append.validator';
export { DEFAULT_MAX_PAYLOAD_BYTES, MAX_STREAM_ID_LENGTH } from './append.validator';
export { START, compareCursors } from './cursor.model';
export type { Cursor } from './cursor.model';
export type { EventFilter, Page } from './event.query';
export { createPool } from './pool.factory';
export type { Queryable } from './pool.factory';
export { migrate, runMigrations } from './migrate.runner';
export type { MigrationReport } from './migrate.runner';
export { ensureDatabase } from './database.bootstrap';
export { EVENTS_CHANNEL, MIGRATIONS } from './schema.migrations';
export type { Migration } from './schema.migrations';
export { handleCommand } from './command.handler';
export type { Decider, HandleCommandOptions } from './command.handler';
export { unitOfWork, processOnce } from './unit-of-work.transaction';
export type { ProcessOnceResult } from './unit-of-work.transaction';
export { InboxBatcher } from './inbox.batcher';
export type { InboxBatcherOptions, BatchWork } from './inbox.batcher';
export { CheckpointStore } from './checkpoint.store';
export { WakeupGate } from './wakeup.gate';
export { BlobStore, sha256Hex } from './blob.store';
export type { StoredBlob } from './blob.store';
export { commitSafeHead, countSelection, readSelectionEncoded } from './selection.query';
export type { EventSelection } from './selection.query';
export { copyLine, copyRows, copyText } from './copy-in';
