import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { openPostgres, type Db } from '../db/client.js';
import { processInboxBatch } from '../jobs/process-inbox.js';
import { createLogger } from '../observability/logger.js';
import { createSource } from '../routes/v1/admin.routes.js';
import { startDatong, type Datong } from '../runtime.js';
import { DEFAULT_TENANT_ID } from '../tenants.js';
import { basic, createTestDatabase, TEST_MASTER_KEY, type TestDatabase } from '../test-support/harness.js';
import { storeInbox } from './ingest.js';

// PostgreSQL only (*.pg.test.ts): two server processes' worth of connections on one database.
let tdb: TestDatabase;
let second: Db;
let a: Datong;
let b: Datong;

beforeAll(async () => {
  if (!process.env['DATONG_TEST_DATABASE_URL']) throw new Error('*.pg.test.ts needs DATONG_TEST_DATABASE_URL (run npm test)');
  tdb = await createTestDatabase();
  second = await openPostgres(tdb.url ?? '', 8);
  const { config } = loadConfig({ DATABASE_URL: tdb.url ?? '', DATONG_MASTER_KEY: TEST_MASTER_KEY, DATONG_ADMIN_KEY: 'pg-inline-test-admin-key' });
  a = await startDatong({ config, logger: createLogger('silent'), db: tdb.db, workers: false });
  b = await startDatong({ config, logger: createLogger('silent'), db: second, workers: false });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await second?.close();
  await tdb?.drop();
});

describe('inline ingest on PostgreSQL with two servers and the worker path at once', () => {
  it('gives every messageId one effect, however the same messages arrive', async () => {
    const src = await createSource(tdb.db, a.deps, DEFAULT_TENANT_ID, 'race', 'web', new Date());
    // 600 messages from 60 people; each message is sent to both servers and, every third one,
    // also stored for the workers (as an import would), all at the same time.
    const messages = Array.from({ length: 600 }, (_, i) =>
      i % 4 === 0
        ? { type: 'identify', messageId: `r-${i}`, anonymousId: `dev-${i % 120}`, userId: `ru-${i % 60}`, traits: { email: `r${i % 60}@example.com` } }
        : { type: 'track', messageId: `r-${i}`, anonymousId: `dev-${i % 120}`, event: 'Product Viewed', properties: { i } },
    );
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < messages.length; i += 50) batches.push(messages.slice(i, i + 50));
    const post = (d: Datong, batch: Record<string, unknown>[]) =>
      d.app.inject({ method: 'POST', url: '/v1/batch', headers: basic(src.writeKey), payload: { batch } }).then((r) => {
        expect(r.statusCode).toBe(200);
        return r.json() as { accepted: number; duplicates: number };
      });
    const answers = await Promise.all([
      ...batches.map((x) => post(a, x)),
      ...[...batches].reverse().map((x) => post(b, x)),
      ...batches.map(async (x) => {
        const r = await storeInbox(tdb.db, a.deps.keyring, DEFAULT_TENANT_ID, src.id, x.filter((_, k) => k % 3 === 0), new Date());
        return { accepted: r.accepted, duplicates: r.duplicates };
      }),
    ]);
    // Whatever path won a message, it was accepted exactly once overall.
    expect(answers.reduce((n, r) => n + r.accepted, 0)).toBe(600);
    while ((await processInboxBatch(a.deps, 100)).claimed > 0);
    const events = await tdb.db.query<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM events WHERE source_id = $1', [src.id]);
    expect(events.rows[0]).toEqual({ n: 600, d: 600 });
    const inbox = await tdb.db.query<{ status: number; n: number }>('SELECT status, count(*)::int AS n FROM inbox WHERE source_id = $1 GROUP BY status', [src.id]);
    expect(inbox.rows).toEqual([{ status: 1, n: 600 }]);
    // Each person (15 user ids: identify messages are every 4th of 60) is one customer, with both devices.
    const people = await tdb.db.query<{ roots: number }>(
      `SELECT count(DISTINCT c.root_id)::int AS roots FROM customer_identities i
       JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
       WHERE i.tenant_id = $1 AND i.type IN ('user_id', 'anonymous_id') AND (i.value LIKE 'ru-%' OR i.value LIKE 'dev-%')
         AND c.root_id IN (SELECT c2.root_id FROM customer_identities i2 JOIN customers c2 ON c2.tenant_id = i2.tenant_id AND c2.id = i2.customer_id
                           WHERE i2.tenant_id = $1 AND i2.type = 'user_id' AND i2.value LIKE 'ru-%')`,
      [DEFAULT_TENANT_ID],
    );
    expect(people.rows[0]?.roots).toBe(15);
  });

  it('resolves the batches of a process before the tenant lock once it has one of its own to build on', async () => {
    const outcomes = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await a.metrics.ingestSpeculation.get()).values.map((v) => [String(v.labels.outcome), v.value]));
    const before = await outcomes();
    // A new source changes the tenant's configuration: the first batch after it resolves under the lock.
    const src = await createSource(tdb.db, a.deps, DEFAULT_TENANT_ID, 'speculation', 'web', new Date());
    for (let i = 0; i < 5; i++) {
      const r = await a.app.inject({
        method: 'POST',
        url: '/v1/batch',
        headers: basic(src.writeKey),
        payload: { batch: [{ type: 'identify', messageId: `s-${i}`, userId: 'spec-user', anonymousId: `spec-dev-${i}`, traits: { name: `n${i}` } }] },
      });
      expect(r.statusCode).toBe(200);
    }
    const after = await outcomes();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect({ locked: delta('locked'), speculated: delta('speculated'), redone: delta('redone') }).toEqual({ locked: 1, speculated: 4, redone: 0 });
    // One person with five devices, every event on the timeline, the last name on the profile.
    const c = await tdb.db.query<{ roots: number; events: number; name: string }>(
      `SELECT count(DISTINCT c.root_id)::int AS roots, (SELECT count(*)::int FROM events WHERE source_id = $2) AS events,
              max(r.traits->>'name') AS name
       FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
       JOIN customers r ON r.tenant_id = c.tenant_id AND r.id = c.root_id
       WHERE i.tenant_id = $1 AND i.type = 'anonymous_id' AND i.value LIKE 'spec-dev-%'`,
      [DEFAULT_TENANT_ID, src.id],
    );
    expect(c.rows[0]).toEqual({ roots: 1, events: 5, name: 'n4' });
  });
});
