import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { createApiKey, createSource } from '../routes/v1/admin.routes.js';
import { startDatong, type Datong } from '../runtime.js';
import { createTestDatabase, TEST_MASTER_KEY, type TestDatabase } from '../test-support/harness.js';
import { storeInbox } from '../usecases/ingest.js';

// Runs only in the PostgreSQL pass of `npm test` (files named *.pg.test.ts): PGlite is one
// process's database and cannot be shared by workers.
const WORKER = fileURLToPath(new URL('../test-support/worker-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

let tdb: TestDatabase;
let datong: Datong;

beforeAll(async () => {
  if (!process.env['DATONG_TEST_DATABASE_URL']) throw new Error('*.pg.test.ts needs DATONG_TEST_DATABASE_URL (run npm test)');
  if (!existsSync(`${ROOT}packages/core/dist/index.js`)) throw new Error('build first: npm run build');
  tdb = await createTestDatabase();
  const { config } = loadConfig({ DATABASE_URL: tdb.url ?? '', DATONG_MASTER_KEY: TEST_MASTER_KEY, DATONG_ADMIN_KEY: 'pg-worker-test-admin-key' });
  datong = await startDatong({ config, logger: createLogger('silent'), db: tdb.db, workers: false });
});
afterAll(async () => {
  await datong?.close();
  await tdb?.drop();
});

function startWorker(url: string): { child: ChildProcess; ready: Promise<void>; done: Promise<{ processed: number; batches: number }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, DATONG_MASTER_KEY: TEST_MASTER_KEY, DATONG_INBOX_BATCH_SIZE: '40', DATONG_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady();
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ processed: number; batches: number }>((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`));
      const last = out.trim().split('\n').pop() ?? '{}';
      resolve(JSON.parse(last) as { processed: number; batches: number });
    });
  });
  return { child, ready, done };
}

describe('three worker processes on one PostgreSQL', () => {
  it('process every inbox message exactly once, sharing the work', async () => {
    const now = new Date();
    const tenants = ['ten_default'];
    await tdb.db.query("INSERT INTO tenants (id, name) VALUES ('ten_second', 'Second') ON CONFLICT DO NOTHING");
    await createApiKey(tdb.db, 'ten_second', 'admin', ['admin']);
    tenants.push('ten_second');
    const sources = await Promise.all(tenants.map((t) => createSource(tdb.db, datong.deps, t, 'load', 'web', now)));
    const workers = [0, 1, 2].map(() => startWorker(tdb.url ?? ''));
    await Promise.all(workers.map((w) => w.ready));

    // 2 tenants × 1,500 messages from 100 people (user ids u-0, u-3, …), each seen on two devices, so merges happen.
    const N = 1500;
    for (const [ti, t] of tenants.entries()) {
      const src = sources[ti];
      if (!src) throw new Error('no source');
      for (let start = 0; start < N; start += 250) {
        const batch = Array.from({ length: 250 }, (_, k) => {
          const i = start + k;
          const person = i % 300;
          return i % 3 === 0
            ? { type: 'identify', messageId: `m-${i}`, anonymousId: `dev-${i % 600}`, userId: `u-${person}`, traits: { email: `p${person}@example.com` } }
            : { type: 'track', messageId: `m-${i}`, anonymousId: `dev-${i % 600}`, event: 'Product Viewed', properties: { i } };
        });
        await storeInbox(tdb.db, datong.deps.keyring, t, src.id, batch, now);
      }
    }
    const results = await Promise.all(workers.map((w) => w.done));

    const total = results.reduce((s, r) => s + r.processed, 0);
    expect(total).toBe(2 * N);
    for (const r of results) expect(r.processed).toBeGreaterThan(0);
    const inbox = await tdb.db.query<{ status: number; attempts: number; n: number }>(
      'SELECT status, attempts, count(*)::int AS n FROM inbox GROUP BY status, attempts',
    );
    expect(inbox.rows).toEqual([{ status: 1, attempts: 1, n: 2 * N }]);
    const events = await tdb.db.query<{ n: number; distinct_messages: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT (tenant_id, message_id))::int AS distinct_messages FROM events',
    );
    expect(events.rows[0]).toEqual({ n: 2 * N, distinct_messages: 2 * N });
    // Identity stayed consistent under concurrency: each person is exactly one customer per tenant.
    const people = await tdb.db.query<{ tenant_id: string; roots: number }>(
      `SELECT i.tenant_id, count(DISTINCT c.root_id)::int AS roots FROM customer_identities i
       JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id WHERE i.type = 'user_id' GROUP BY i.tenant_id ORDER BY i.tenant_id`,
    );
    expect(people.rows).toEqual([
      { tenant_id: 'ten_default', roots: 100 },
      { tenant_id: 'ten_second', roots: 100 },
    ]);
    const split = await tdb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT i.tenant_id, i.value FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
         WHERE i.type = 'anonymous_id' GROUP BY i.tenant_id, i.value HAVING count(DISTINCT c.root_id) > 1) x`,
    );
    expect(split.rows[0]?.n).toBe(0);
  });
});
