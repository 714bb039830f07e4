import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../routes/v1/admin.routes.js';
import { basic, createHarness, type Harness } from '../test-support/harness.js';

// Inline ingest, whatever the split of messages into concurrent requests and whatever the
// duplicates: every messageId takes effect once, and the customers are exactly the connected
// components of "appears in the same message" over the identifiers (types without a per-customer
// limit, so merge protection never applies and the answer does not depend on the order).

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

// Each message: a device (anonymousId, even numbers) and/or an email (odd numbers), at least one.
const ids = fc
  .record({ device: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), email: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) })
  .filter((x) => x.device !== undefined || x.email !== undefined)
  .map((x) => [...(x.device !== undefined ? [2 * x.device] : []), ...(x.email !== undefined ? [2 * x.email + 1] : [])]);
const message = fc.record({ ids, event: fc.constantFrom('Product Viewed', 'Product Added') });
const scenario = fc.record({
  messages: fc.array(message, { minLength: 1, maxLength: 30 }),
  // Request boundaries (as cut points) and which messages are sent a second time.
  cuts: fc.uniqueArray(fc.integer({ min: 1, max: 29 }), { maxLength: 6 }),
  repeats: fc.uniqueArray(fc.integer({ min: 0, max: 29 }), { maxLength: 5 }),
});

/** A message's identifiers in Segment's spelling: anonymous_id and email, both without a per-customer limit. */
function spell(ids: readonly number[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of ids) {
    if (n % 2 === 0) out['anonymousId'] = `dev-${n}`;
    else out['context'] = { externalIds: [{ id: `p${n}@example.com`, type: 'email', encoding: 'none' }] };
  }
  return out;
}

function components(messages: readonly { ids: readonly number[] }[]): string[] {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r) as number;
    parent.set(x, r);
    return r;
  };
  for (const m of messages) {
    for (const i of m.ids) if (!parent.has(i)) parent.set(i, i);
    for (const i of m.ids.slice(1)) parent.set(find(i), find(m.ids[0] as number));
  }
  const groups = new Map<number, number[]>();
  for (const i of parent.keys()) groups.set(find(i), [...(groups.get(find(i)) ?? []), i]);
  return [...groups.values()].map((g) => g.sort((a, b) => a - b).join(',')).sort();
}

describe('inline ingest (property)', () => {
  it('gives the same customers and one event per messageId however the messages are split and repeated', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ messages, cuts, repeats }) => {
        run++;
        const { tenantId } = await h.newTenant();
        const src = await createSource(h.db, h.datong.deps, tenantId, `prop ${run}`, 'web', new Date());
        const segment = messages.map((m, k) => ({ type: 'track', messageId: `m-${k}`, event: m.event, properties: { k }, ...spell(m.ids) }));
        const cutPoints = [...cuts.filter((c) => c < segment.length), segment.length].sort((a, b) => a - b);
        const requests: Record<string, unknown>[][] = [];
        let from = 0;
        for (const c of cutPoints) {
          if (c > from) requests.push(segment.slice(from, c));
          from = c;
        }
        // Repeated messages: once in the same wave of concurrent requests (deduplicated within a
        // transaction), and once more afterwards (deduplicated against the stored inbox).
        const again = repeats.filter((k) => k < segment.length).map((k) => segment[k] as Record<string, unknown>);
        if (again.length > 0) requests.push(again);
        const post = (batch: Record<string, unknown>[]) => h.inject({ method: 'POST', url: '/v1/batch', headers: basic(src.writeKey), payload: { batch } });
        const answers = await Promise.all(requests.map(post));
        // … next to one new message (same people as the first one), which alone must take effect.
        const extra = { ...(segment[0] as Record<string, unknown>), messageId: 'm-extra' };
        answers.push(await post([...again, extra]));
        const total = segment.length + 1;
        const accepted = answers.reduce((n, a) => n + (a.json() as { accepted: number }).accepted, 0);
        expect(accepted).toBe(total);
        const events = await h.db.query<{ n: number; d: number }>(
          'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM events WHERE tenant_id = $1',
          [tenantId],
        );
        expect(events.rows[0]).toEqual({ n: total, d: total });
        // Customers as groups of identifier numbers, compared with the connected components.
        const rows = await h.db.query<{ root_id: string; type: string; value: string | null; collection: string }>(
          `SELECT c.root_id, i.type, i.value, i.collection FROM customer_identities i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
           WHERE i.tenant_id = $1`,
          [tenantId],
        );
        const byRoot = new Map<string, number[]>();
        for (const r of rows.rows) {
          // Emails are stored encrypted (value null): count them by the anonymous ids they share a root with, and check the totals below.
          if (r.type !== 'anonymous_id' || r.value === null) continue;
          byRoot.set(r.root_id, [...(byRoot.get(r.root_id) ?? []), Number(r.value.slice(4))]);
        }
        const expected = components(messages)
          .map((g) => g.split(',').map(Number).filter((n) => n % 2 === 0))
          .filter((g) => g.length > 0)
          .map((g) => g.join(','))
          .sort();
        const got = [...byRoot.values()].map((g) => g.sort((a, b) => a - b).join(',')).sort();
        expect(got).toEqual(expected);
        // As many customers (roots) as components.
        const roots = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers WHERE tenant_id = $1 AND merged_into IS NULL', [tenantId]);
        expect(roots.rows[0]?.n).toBe(components(messages).length);
      }),
      { numRuns: 15 },
    );
  });
});
