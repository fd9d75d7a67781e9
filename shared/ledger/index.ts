export { type Db, type OpenDbOptions, type Queryable, DEFAULT_DATA_DIR, openDb } from './db.ts';
export { idempotencyKey, sourceImageKey, type SourceImage } from './keys.ts';
export * from './ledger.ts';
export { migrate, schemaVersion, type Migration, type MigrateResult } from './migrate.ts';
export { MIGRATIONS } from './migrations.ts';
export { type Enqueued, type NotificationInput, NotificationOutbox } from './outbox.ts';
export { EcsTaskRegistry, type WatchEcsTaskInput } from './registries.ts';
export * from './rows.ts';
export * from './states.ts';
