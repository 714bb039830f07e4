export { buildApp, type App, type AppOptions } from './app.js';
export { loadConfig, describeConfig, type LoadedConfig } from './config/load.js';
export { SETTINGS, type Config } from './config/schema.js';
export { openPglite, openPostgres, type Db, type Queryable } from './db/client.js';
export { migrate, listMigrations, pendingMigrations } from './db/migrate.js';
export { createLogger } from './observability/logger.js';
export { startDatong, openDatabase, bootstrap, DEFAULT_TENANT_ID, type Datong, type StartOptions } from './runtime.js';
export { processInboxBatch, MAX_INBOX_ATTEMPTS } from './jobs/process-inbox.js';
export { createApiKey, createSource } from './routes/v1/admin.routes.js';
export { storeInbox } from './usecases/ingest.js';
/** Bulk loaders that write customers and identities directly take the tenant's identity lock too (it keeps every server's identity cache exact). */
export { lockTenantIdentities } from './usecases/identity-lock.js';
/** CSV and XLSX import (issue 4): readers, mapping, validation, pipeline; the CLI runs it against /v1/batch. */
export * as tableImport from './import/index.js';
export { MAX_EVENT_BYTES, MAX_BATCH_BYTES } from './routes/v1/ingest.routes.js';
export type { ApiScope } from './http/auth.js';
export { createUser, listUsers, ensureBuiltinRoles, type NewUser, type UserOut } from './usecases/access.js';
export { MIN_PASSWORD_LENGTH } from './security/passwords.js';
