import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/client.js';
import { applyMessagesOptimistically, prepareMessages, type IncomingMessage, type Speculation } from '../jobs/process-inbox.js';
import { createSource } from '../routes/v1/admin.routes.js';
import { createHarness, type Harness } from '../test-support/harness.js';
import { customerGroups, trackWithIdentifiers, type TestIdentifier } from '../test-support/identity-fixtures.js';
import type { ServerDeps } from './context.js';
import { ingestAndProcess } from './ingest.js';
import { tenantConfig } from './tenant-config.js';

// Inline ingest on PostgreSQL resolves a batch before taking the tenant's identity lock, against
// what the previous batch of the process left in its identity cache, and checks under the lock
// that nothing else happened in between (jobs/process-inbox.ts, applyMessagesOptimistically).
// Whatever overlaps it — the next batches of the same process, another process's transactions,
// a transaction that rolls back — the outcome must be exactly that of the same batches done one
// after another, in the order they took the lock, by a process without any cache.

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

/** A handle on the same database with its own identity cache, as another process has. */
function handle(db: Db): Db {
  return { kind: db.kind, query: (sql, params) => db.query(sql, params), exec: (sql) => db.exec(sql), close: async () => undefined, tx: (fn) => db.tx(fn) };
}

type Ident = TestIdentifier;
type Batch = { readonly proc: 'spec' | 'other'; readonly messages: readonly Ident[][]; readonly fail: boolean };

// user_id and wechat_unionid are limited to one per customer (merge protection); anonymous_id is not.
const ident = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map((n) => ({ type: 'user_id', id: `u${n}` })),
  fc.integer({ min: 0, max: 2 }).map((n) => ({ type: 'wechat_unionid', id: `w${n}` })),
  fc.integer({ min: 0, max: 5 }).map((n) => ({ type: 'anonymous_id', id: `a${n}` })),
);
const batch: fc.Arbitrary<Batch> = fc.record({
  proc: fc.oneof({ weight: 4, arbitrary: fc.constant('spec' as const) }, { weight: 1, arbitrary: fc.constant('other' as const) }),
  messages: fc.array(fc.array(ident, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  // About one in five rolls back after its work (before COMMIT).
  fail: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});
/** Rounds of batches sent at once. */
const rounds = fc.array(fc.array(batch, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 });

function message(ids: readonly Ident[], id: string): Record<string, unknown> {
  return trackWithIdentifiers(ids, id, { id });
}

async function newTenantAndSource(): Promise<{ tenantId: string; sourceId: string }> {
  const { tenantId } = await h.newTenant();
  const src = await createSource(h.db, h.datong.deps, tenantId, 'speculation test', 'web', h.now());
  return { tenantId, sourceId: src.id };
}

/** Customers as sorted groups of identifier values, with counts of what resolution wrote. */
async function outcome(tenantId: string): Promise<{ customers: string[]; counts: Record<string, number> }> {
  const c = await h.db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM customers WHERE tenant_id = $1) AS customers,
            (SELECT count(*)::int FROM customers WHERE tenant_id = $1 AND id = root_id) AS roots,
            (SELECT count(*)::int FROM customer_merges WHERE tenant_id = $1) AS merges,
            (SELECT count(*)::int FROM identity_conflicts WHERE tenant_id = $1) AS conflicts,
            (SELECT count(*)::int FROM events WHERE tenant_id = $1) AS events,
            (SELECT count(DISTINCT e.customer_id)::int FROM events e WHERE e.tenant_id = $1) AS customers_with_events`,
    [tenantId],
  );
  return { customers: await customerGroups(h.db, tenantId), counts: c.rows[0] as Record<string, number> };
}

/**
 * Sends each round's batches at once: `spec` batches through one process's optimistic path (one
 * shared cache), `other` batches as another process would. Returns the batches that committed,
 * in the order they held the lock, and how each optimistic batch went.
 */
async function playConcurrently(tenantId: string, sourceId: string, plan: readonly (readonly Batch[])[]) {
  const spec: ServerDeps = { ...h.datong.deps, db: handle(h.db) };
  const other: ServerDeps = { ...h.datong.deps, db: handle(h.db) };
  const committed: { messages: Record<string, unknown>[] }[] = [];
  const outcomes: Speculation[] = [];
  let n = 0;
  for (const round of plan) {
    await Promise.all(
      round.map(async (b) => {
        const messages = b.messages.map((ids) => message(ids, `m-${n++}`));
        if (b.proc === 'other') {
          // Its transaction ends right after its work: the order it took the lock in.
          await ingestAndProcess({ ...other, db: { ...other.db, tx: (fn) => other.db.tx(async (q) => { const r = await fn(q); committed.push({ messages }); return r; }) } }, tenantId, sourceId, messages);
          return;
        }
        const now = h.now();
        const config = await tenantConfig(spec.db, spec.db, tenantId);
        const incoming: IncomingMessage[] = messages.map((raw) => ({ inboxId: null, sourceId, messageId: String(raw['messageId']), receivedAt: now, raw, payloadEnc: () => 'x' }));
        const prepared = prepareMessages(spec.keyring, tenantId, config, incoming, now);
        const p = spec.db.tx(async (q) => {
          outcomes.push(await applyMessagesOptimistically(spec, q, tenantId, config, prepared, now));
          if (b.fail) throw new Error('injected failure before COMMIT');
          committed.push({ messages });
        });
        if (b.fail) await expect(p).rejects.toThrow('injected failure');
        else await p;
      }),
    );
  }
  return { committed, outcomes };
}

describe('speculative identity resolution (property, on the database)', () => {
  it('ends exactly as the committed batches done one after another without a cache', async () => {
    const seen = new Map<Speculation, number>();
    await fc.assert(
      fc.asyncProperty(rounds, async (plan) => {
        const run = await newTenantAndSource();
        const { committed, outcomes } = await playConcurrently(run.tenantId, run.sourceId, plan);
        for (const o of outcomes) seen.set(o, (seen.get(o) ?? 0) + 1);
        // Reference: the same batches, in lock order, each by a fresh process (an empty cache).
        const ref = await newTenantAndSource();
        for (const c of committed) await ingestAndProcess({ ...h.datong.deps, db: handle(h.db) }, ref.tenantId, ref.sourceId, c.messages);
        expect(await outcome(run.tenantId)).toEqual(await outcome(ref.tenantId));
      }),
      { numRuns: 60 },
    );
    // The property is only worth something if both ways were taken.
    expect(seen.get('speculated') ?? 0).toBeGreaterThan(20);
    if (h.db.kind === 'postgres') expect(seen.get('redone') ?? 0).toBeGreaterThan(0);
  });
});
