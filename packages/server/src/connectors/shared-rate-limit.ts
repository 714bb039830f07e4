import { blockBucket, fullBucket, refill, takeToken, type BucketSpec, type BucketState } from '@datong/connectors';
import type { Db } from '../db/client.js';

/**
 * A connector's token buckets (one per API) kept in the database, so that every process calling
 * the platform for this connector draws from the same buckets: with per-process buckets, three
 * workers would call a platform three times as fast as its quota allows until its throttle
 * answers pushed them back. The arithmetic is the connectors kit's (`takeToken`, `blockBucket`,
 * property-tested); this class only keeps the state in `rate_buckets`, locked per row while a
 * token is taken, with the database's clock as the one time every process agrees on.
 *
 * Call it outside any open transaction: taking a token is a transaction of its own, and on the
 * embedded database (one connection) it would wait for the caller's transaction forever. Every
 * platform call site (polling, pulls, order details, reconciliation, connection tests) makes its
 * API call first and writes what it got in a transaction afterwards.
 */
export class SharedRateLimiter {
  readonly #db: Db;
  readonly #tenantId: string;
  readonly #connectorId: string;
  readonly #spec: BucketSpec;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(db: Db, tenantId: string, connectorId: string, spec: BucketSpec, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {
    if (!(spec.capacity >= 1) || !(spec.refillPerSecond > 0)) throw new RangeError('a bucket needs capacity >= 1 and refillPerSecond > 0');
    this.#db = db;
    this.#tenantId = tenantId;
    this.#connectorId = connectorId;
    this.#spec = spec;
    this.#sleep = sleep;
  }

  /** Waits until a token of `api`'s bucket is ours. */
  async take(api: string): Promise<void> {
    for (;;) {
      const wait = await this.#update(api, (state, now) => {
        const r = takeToken(state, this.#spec, now);
        return { state: r.state, wait: r.ok ? 0 : r.waitMs };
      });
      if (wait === 0) return;
      await this.#sleep(wait);
    }
  }

  /** The platform throttled `api`: no process gets a token for it during `ms`. */
  async block(api: string, ms: number): Promise<void> {
    await this.#update(api, (state, now) => ({ state: blockBucket(state, this.#spec, now, ms), wait: 0 }));
  }

  /** Tokens `api`'s bucket holds now (status pages and tests). */
  async available(api: string): Promise<number> {
    return this.#update(api, (state, now) => {
      const s = refill(state, this.#spec, now);
      return { state: s, wait: now < s.blockedUntil ? 0 : Math.floor(s.tokens + 1e-9) };
    });
  }

  /** Runs `step` on `api`'s bucket under its row lock and stores the new state; returns step's number. */
  async #update(api: string, step: (state: BucketState, now: number) => { state: BucketState; wait: number }): Promise<number> {
    const key = [this.#tenantId, this.#connectorId, api];
    return this.#db.tx(async (q) => {
      // A new bucket starts full, at the database's time.
      await q.query(
        `INSERT INTO rate_buckets (tenant_id, connector_id, api, tokens, at_ms, blocked_until_ms)
         VALUES ($1, $2, $3, $4, floor(extract(epoch FROM clock_timestamp()) * 1000), 0) ON CONFLICT DO NOTHING`,
        [...key, this.#spec.capacity],
      );
      const r = await q.query<{ tokens: number; at_ms: number; blocked_until_ms: number; now_ms: number }>(
        `SELECT tokens, at_ms, blocked_until_ms, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms
         FROM rate_buckets WHERE tenant_id = $1 AND connector_id = $2 AND api = $3 FOR UPDATE`,
        key,
      );
      const row = r.rows[0];
      const now = Number(row?.now_ms ?? Date.now());
      const stored: BucketState = row
        ? { tokens: Math.min(Number(row.tokens), this.#spec.capacity), at: Math.min(Number(row.at_ms), now), blockedUntil: Number(row.blocked_until_ms) }
        : fullBucket(this.#spec, now);
      const out = step(stored, now);
      await q.query('UPDATE rate_buckets SET tokens = $4, at_ms = $5, blocked_until_ms = $6 WHERE tenant_id = $1 AND connector_id = $2 AND api = $3', [
        ...key,
        out.state.tokens,
        Math.round(out.state.at),
        Math.round(out.state.blockedUntil),
      ]);
      return out.wait;
    });
  }
}
