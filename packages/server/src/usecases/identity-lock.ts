import type { Queryable } from '../db/client.js';
import { nextLockToken } from './identity-cache.js';

/** The tenant's identity lock as a transaction holds it: the token it wrote, and the previous holder's. */
export interface IdentityLock {
  readonly token: string;
  readonly prev: string | null;
}

/**
 * Identity resolution reads then writes the tenant's identity graph: one writer per tenant at a
 * time. Every transaction that resolves identities or changes the graph (ingest, unmerge, segment
 * recompute) takes this lock, the tenant's `identity_locks` row, until it ends; taking it writes a
 * fresh token and returns the previous one, which tells this process's identity cache whether
 * anyone else changed the graph since its own last turn (usecases/identity-cache.ts). Taken as
 * late as possible, so that another batch's parsing and inbox work overlap it.
 *
 * The same statement steers the rest of the transaction to index probes: every statement of a
 * batch touches a few hundred known keys, but with one tenant `tenant_id = $1` matches every
 * row, and until the planner has fresh statistics (PGlite never analyzes by itself; PostgreSQL's
 * autoanalyze lags a fast-growing table by minutes) it took that for a small share and chose
 * hash joins, bitmap scans and even nested loops over a sequential scan of customers (the
 * profile UPDATE took 29 ms a batch that way). Transaction-local; tables without a usable index
 * are still scanned.
 */
export async function lockTenantIdentities(q: Queryable, tenantId: string, token = nextLockToken()): Promise<IdentityLock> {
  // ON CONFLICT DO UPDATE waits for the row's lock, then updates the latest committed version:
  // `prev` is the token of whoever held the lock last, and the statements after this one see
  // everything that holder committed.
  const r = await q.query<{ prev: string | null }>(
    `INSERT INTO identity_locks AS l (tenant_id, token) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET prev = l.token, token = EXCLUDED.token
     RETURNING prev, set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
               set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`,
    [tenantId, token],
  );
  return { token, prev: r.rows[0]?.prev ?? null };
}
