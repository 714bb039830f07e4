import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes, createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { DatongError } from '@datong/core';
import { buildApp, type App } from './app.js';
import { CommerceConnectors } from './connectors/commerce.js';
import { createCommerceRegistry, type RegisteredConnector } from './connectors/registry.js';
import type { Config } from './config/schema.js';
import { openPglite, openPostgres, type Db } from './db/client.js';
import { migrate } from './db/migrate.js';
import { Runner } from './jobs/runner.js';
import { ImportWorker } from './import/job.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { lockDataDir, type DataDirLock } from './security/data-dir-lock.js';
import { createKeyring, sha256Hex, type Keyring } from './security/keys.js';
import { createApiKey } from './routes/v1/admin.routes.js';
import { parseRetrySchedule } from './webhooks/index.js';
import { DEFAULT_TENANT_ID } from './tenants.js';
import { ensureBuiltinRoles } from './usecases/access.js';
import type { ServerDeps } from './usecases/context.js';
import { InlineIngest } from './usecases/ingest.js';

export { DEFAULT_TENANT_ID };

export interface Datong {
  readonly app: App;
  readonly db: Db;
  readonly deps: ServerDeps;
  readonly runner: Runner | null;
  readonly metrics: Metrics;
  /** E-commerce connectors: registry, connector cache and clients (app and workers share it). */
  readonly commerce: CommerceConnectors;
  /** Set when this start generated the bootstrap admin key (print it once). */
  readonly generatedAdminKey: string | null;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock?: () => Date;
  /** Use this database instead of opening one (tests share one PGlite). */
  readonly db?: Db;
  /** Start the workers (default: config.queue.workers). */
  readonly workers?: boolean;
  /** E-commerce connectors besides the built-in platforms (tests register fakes). */
  readonly commerceConnectors?: readonly RegisteredConnector[];
}

/** The master key: from config, else generated once into the data folder (never in production). */
export function loadMasterKey(config: Config): Buffer {
  if (config.security.masterKey) return Buffer.from(config.security.masterKey, 'base64');
  const dir = config.db.dataDir;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'master.key');
  if (existsSync(file)) {
    const k = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (k.length !== 32) throw new DatongError('CONFIG_INVALID', `${file} does not hold a 32-byte base64 key`);
    return k;
  }
  const k = randomBytes(32);
  writeFileSync(file, `${k.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return k;
}

/** Refuses to run with a master key other than the one the data was written with. */
async function checkKeyFingerprint(db: Db, master: Buffer): Promise<void> {
  const fp = createHmac('sha256', master).update('datong:key-check').digest('hex').slice(0, 32);
  await db.query('INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', ['master_key_fingerprint', fp]);
  const r = await db.query<{ value: string }>('SELECT value FROM server_meta WHERE key = $1', ['master_key_fingerprint']);
  if (r.rows[0]?.value !== fp) {
    throw new DatongError(
      'CONFIG_INVALID',
      'The master key does not match the one this database was written with (DATONG_MASTER_KEY or <data folder>/master.key). Start with the original key.',
    );
  }
}

/** Creates the default tenant, its built-in console roles and the bootstrap admin key when missing. */
export async function bootstrap(db: Db, config: Config): Promise<string | null> {
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Default') ON CONFLICT (id) DO NOTHING`, [DEFAULT_TENANT_ID]);
  await ensureBuiltinRoles(db, DEFAULT_TENANT_ID);
  if (config.security.adminKey) {
    const exists = await db.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [sha256Hex(config.security.adminKey)]);
    if (exists.rows.length === 0) await createApiKey(db, DEFAULT_TENANT_ID, 'Bootstrap admin (DATONG_ADMIN_KEY)', ['admin'], config.security.adminKey);
    return null;
  }
  const any = await db.query("SELECT 1 FROM api_keys WHERE tenant_id = $1 AND 'admin' = ANY(scopes) AND revoked_at IS NULL LIMIT 1", [DEFAULT_TENANT_ID]);
  if (any.rows.length > 0) return null;
  const { key } = await createApiKey(db, DEFAULT_TENANT_ID, 'Bootstrap admin (generated)', ['admin']);
  return key;
}

export async function openDatabase(config: Config): Promise<{ db: Db; lock: DataDirLock | null }> {
  if (config.db.url) return { db: await openPostgres(config.db.url, config.db.poolSize), lock: null };
  const lock = lockDataDir(config.db.dataDir);
  try {
    return { db: await openPglite(config.db.dataDir), lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Opens the database, migrates, bootstraps and builds the app (and workers). Does not listen. */
export async function startDatong(opts: StartOptions): Promise<Datong> {
  const { config, logger } = opts;
  const clock = opts.clock ?? (() => new Date());
  const schedule = parseRetrySchedule(config.webhooks.retrySchedule);
  let lock: DataDirLock | null = null;
  let db: Db;
  if (opts.db) db = opts.db;
  else ({ db, lock } = await openDatabase(config));
  let keyring: Keyring;
  let generatedAdminKey: string | null;
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ event: 'db.migrated', applied }, `applied ${applied.length} migration(s)`);
    const master = loadMasterKey(config);
    await checkKeyFingerprint(db, master);
    keyring = createKeyring(master);
    generatedAdminKey = await bootstrap(db, config);
  } catch (e) {
    if (!opts.db) await db.close().catch(() => undefined);
    lock?.release();
    throw e;
  }
  const metrics = createMetrics();
  let runner: Runner | null = null;
  let imports: ImportWorker | null = null;
  const deps: ServerDeps = { config, db, keyring, clock, logger, kick: () => runner?.kick() };
  const commerce = new CommerceConnectors(deps, createCommerceRegistry(opts.commerceConnectors));
  if (opts.workers ?? config.queue.workers) {
    runner = new Runner(deps, {
      batchSize: config.queue.batchSize,
      pollMs: config.queue.pollMs,
      delivery: { schedule },
      metrics,
      webhookConcurrency: config.webhooks.concurrency,
      tagRecomputeMs: config.queue.tagRecomputeMinutes * 60_000,
      inboxRetentionDays: config.queue.inboxRetentionDays,
      commerce,
    });
    runner.start();
    // CSV/XLSX imports uploaded through the API (issue 4) run where their file was uploaded.
    imports = new ImportWorker(deps);
    imports.start();
  }
  const inline = config.queue.inline
    ? new InlineIngest(deps, {
        maxBatch: config.queue.batchSize,
        // On PostgreSQL a second transaction prepares its batch while the first holds the tenant's lock.
        concurrency: db.kind === 'postgres' ? 2 : 1,
        onProcessed: (processed, quarantined, receivedAt) => {
          runner?.noteProcessed(processed + quarantined);
          if (processed > 0) metrics.inboxProcessed.inc({ outcome: 'processed' }, processed);
          if (quarantined > 0) metrics.inboxProcessed.inc({ outcome: 'quarantined' }, quarantined);
          const done = Date.now();
          for (const t of receivedAt) metrics.processingLag.observe((done - t.getTime()) / 1000);
        },
        onSpeculation: (outcome) => metrics.ingestSpeculation.inc({ outcome }),
      })
    : undefined;
  const app = await buildApp({ ...deps, metrics, commerce, ...(inline ? { inline } : {}) });
  let closed = false;
  return {
    app,
    db,
    deps,
    runner,
    metrics,
    commerce,
    generatedAdminKey,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await imports?.stop();
      await runner?.stop();
      if (!opts.db) await db.close();
      lock?.release();
    },
  };
}
