import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../config/load.js';
import { openPglite, openPostgres, type Db } from '../db/client.js';
import type { RegisteredConnector } from '../connectors/registry.js';
import { processConnectorMessages } from '../jobs/process-connector-messages.js';
import { fetchMissingOrderDetails } from '../jobs/commerce-details.js';
import { processInboxBatch } from '../jobs/process-inbox.js';
import { deliverDueWebhooks, dispatchOutbox } from '../jobs/webhooks.js';
import { runNextReconciliation } from '../usecases/reconciliation-jobs.js';
import { createLogger } from '../observability/logger.js';
import { createApiKey } from '../routes/v1/admin.routes.js';
import { startDatong, type Datong } from '../runtime.js';
import { parseRetrySchedule } from '../webhooks/index.js';

/** The PostgreSQL server the suite also runs on (set by scripts/test.sh); unset: PGlite only. */
export const TEST_DATABASE_URL = process.env['DATONG_TEST_DATABASE_URL'];

export interface TestDatabase {
  readonly db: Db;
  readonly url: string | null;
  drop(): Promise<void>;
}

/** A fresh database for one test file: in-memory PGlite, or a new database on the test PostgreSQL server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    const db = await openPglite(null);
    return { db, url: null, drop: () => db.close() };
  }
  const name = `datong_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString(), 8);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface Harness {
  readonly datong: Datong;
  readonly db: Db;
  readonly adminKey: string;
  readonly logs: string[];
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  /** Moves the clock used by the server (for windows and retries); null: the real clock again. */
  setNow(d: Date | null): void;
  now(): Date;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  /** Runs the workers until no work is left: platform messages, inbox, outbox, due webhook deliveries, due reconciliations. */
  drain(): Promise<void>;
  newTenant(): Promise<{ tenantId: string; adminKey: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  /** E-commerce connectors to register besides the built-in ones (test fakes). */
  readonly commerceConnectors?: readonly RegisteredConnector[];
}

export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const tdb = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'datong-test-'));
  const adminKey = `dtk_test_${randomBytes(16).toString('hex')}`;
  const { config } = loadConfig({
    DATONG_DATA_DIR: dataDir,
    DATONG_ADMIN_KEY: adminKey,
    DATONG_MASTER_KEY: TEST_MASTER_KEY,
    DATONG_ALLOW_PRIVATE_NETWORK: '1',
    DATONG_LOG_LEVEL: 'debug',
    DATONG_WEBHOOK_RETRY_SCHEDULE: '1s,2s,3s',
    DATONG_WEBHOOK_TIMEOUT_MS: '3000',
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  let now: Date | null = null;
  const clock = () => now ?? new Date();
  const datong = await startDatong({
    config,
    logger: createLogger('debug', sink),
    clock,
    db: tdb.db,
    workers: false,
    ...(opts.commerceConnectors ? { commerceConnectors: opts.commerceConnectors } : {}),
  });
  const schedule = parseRetrySchedule(config.webhooks.retrySchedule);
  return {
    datong,
    db: tdb.db,
    adminKey,
    logs,
    dataDir,
    databaseUrl: tdb.url,
    setNow(d) {
      now = d;
    },
    now: clock,
    inject: (o) => datong.app.inject(o),
    async drain() {
      for (let i = 0; i < 100; i++) {
        const d = await fetchMissingOrderDetails(datong.deps, datong.commerce);
        const m = await processConnectorMessages(datong.deps, datong.commerce, 500);
        const a = await processInboxBatch(datong.deps, 500);
        const b = await dispatchOutbox(datong.deps);
        const c = await deliverDueWebhooks(datong.deps, { schedule, random: () => 0.5 }, 50);
        const r = await runNextReconciliation(datong.deps, datong.commerce);
        if (d.claimed === 0 && m.claimed === 0 && a.claimed === 0 && b === 0 && c === 0 && !r) return;
      }
      throw new Error('drain did not finish in 100 rounds');
    },
    async newTenant() {
      const tenantId = `ten_${randomBytes(6).toString('hex')}`;
      await tdb.db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenantId, tenantId]);
      const { key } = await createApiKey(tdb.db, tenantId, 'test admin', ['admin']);
      return { tenantId, adminKey: key };
    },
    async close() {
      await datong.close();
      await tdb.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export function basic(writeKey: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` };
}

/** Creates a source through the API and returns its id and write key. */
export async function makeSource(h: Harness, adminKey = h.adminKey, type = 'web'): Promise<{ id: string; writeKey: string }> {
  const r = await h.inject({ method: 'POST', url: '/v1/sources', headers: bearer(adminKey), payload: { name: `src ${type}`, type } });
  if (r.statusCode !== 201) throw new Error(`source creation failed: ${r.statusCode} ${r.body}`);
  return r.json<{ id: string; writeKey: string }>();
}

export async function send(h: Harness, writeKey: string, batch: Record<string, unknown>[]): Promise<LightMyRequestResponse> {
  return h.inject({ method: 'POST', url: '/v1/batch', headers: basic(writeKey), payload: { batch } });
}
