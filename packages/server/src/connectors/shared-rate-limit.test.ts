import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../test-support/harness.js';
import { SharedRateLimiter } from './shared-rate-limit.js';

// Runs on PGlite, and on the test PostgreSQL server when npm test provides one: two limiters on
// one database stand for two Datong processes (each takes tokens in its own transaction).
let tdb: TestDatabase;

class Waited extends Error {
  constructor(readonly ms: number) {
    super(`asked to wait ${ms} ms`);
  }
}
/** A sleep that stops the caller instead of waiting, to see who was told to wait and for how long. */
const refuse = async (ms: number): Promise<void> => {
  throw new Waited(ms);
};
const outcome = (p: Promise<void>): Promise<number> => p.then(() => 0, (e: unknown) => (e instanceof Waited ? e.ms : Promise.reject(e)));

async function connector(id: string): Promise<void> {
  await tdb.db.query(
    `INSERT INTO connectors (tenant_id, id, platform, name, config_enc, source_id, enabled, created_at, updated_at)
     VALUES ('ten_rl', $1, 'youzan', $1, 'x', 'src_rl', true, now(), now())`,
    [id],
  );
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  await migrate(tdb.db);
  await connector('con_a');
  await connector('con_b');
});
afterAll(async () => {
  await tdb?.drop();
});

describe('SharedRateLimiter (token buckets in the database)', () => {
  it('two processes draw from one bucket per connector and API: the burst is shared, then callers wait for the refill', async () => {
    const spec = { capacity: 3, refillPerSecond: 0.5 };
    const p1 = new SharedRateLimiter(tdb.db, 'ten_rl', 'con_a', spec, refuse);
    const p2 = new SharedRateLimiter(tdb.db, 'ten_rl', 'con_a', spec, refuse);
    // Six callers at once, three per process: exactly the burst of three gets through.
    const waits = await Promise.all([p1, p2, p1, p2, p1, p2].map((l) => outcome(l.take('trades.sold.get'))));
    expect(waits.filter((w) => w === 0)).toHaveLength(3);
    for (const w of waits.filter((x) => x > 0)) {
      // The next token comes after 1 / 0.5 s (less the little time that passed).
      expect(w).toBeGreaterThan(1_000);
      expect(w).toBeLessThanOrEqual(2_000);
    }
    expect(await p2.available('trades.sold.get')).toBe(0);
    // Other APIs and other connectors have their own buckets.
    expect(await outcome(p1.take('trade.get'))).toBe(0);
    expect(await outcome(new SharedRateLimiter(tdb.db, 'ten_rl', 'con_b', spec, refuse).take('trades.sold.get'))).toBe(0);
  });

  it('a throttle answer seen by one process holds every process back for the time the platform asked', async () => {
    const spec = { capacity: 10, refillPerSecond: 100 };
    const p1 = new SharedRateLimiter(tdb.db, 'ten_rl', 'con_b', spec, refuse);
    const p2 = new SharedRateLimiter(tdb.db, 'ten_rl', 'con_b', spec, refuse);
    expect(await outcome(p2.take('orders.search'))).toBe(0);
    await p1.block('orders.search', 5_000);
    const w = await outcome(p2.take('orders.search'));
    expect(w).toBeGreaterThan(4_000);
    expect(w).toBeLessThanOrEqual(5_000);
    expect(await p2.available('orders.search')).toBe(0);
    // Another API of the same connector is not held back.
    expect(await outcome(p2.take('order.detail'))).toBe(0);
  });

  it('waits and then gets the token once the bucket has refilled', async () => {
    const l = new SharedRateLimiter(tdb.db, 'ten_rl', 'con_a', { capacity: 1, refillPerSecond: 20 });
    const started = Date.now();
    await l.take('refill.api');
    await l.take('refill.api');
    await l.take('refill.api');
    // Two refills of 50 ms each (a timing floor, not a speed assertion).
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('forgets the buckets of a deleted connector', async () => {
    await connector('con_gone');
    await new SharedRateLimiter(tdb.db, 'ten_rl', 'con_gone', { capacity: 2, refillPerSecond: 1 }).take('x');
    await tdb.db.query("DELETE FROM connectors WHERE tenant_id = 'ten_rl' AND id = 'con_gone'");
    const r = await tdb.db.query<{ n: number }>("SELECT count(*)::int AS n FROM rate_buckets WHERE connector_id = 'con_gone'");
    expect(r.rows[0]?.n).toBe(0);
  });
});
