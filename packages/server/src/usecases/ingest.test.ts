import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/client.js';
import { DEFAULT_TENANT_ID } from '../tenants.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../test-support/harness.js';
import { InlineIngest, storeInbox } from './ingest.js';

let h: Harness;
let source: { id: string; writeKey: string };

beforeAll(async () => {
  h = await createHarness();
  source = await makeSource(h);
});
afterAll(async () => {
  await h.close();
});

async function lookup(type: string, value: string): Promise<{ statusCode: number; id?: string; events?: number }> {
  const r = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=${type}&value=${encodeURIComponent(value)}`, headers: bearer(h.adminKey) });
  if (r.statusCode !== 200) return { statusCode: r.statusCode };
  return { statusCode: 200, id: r.json().id, events: r.json().counts.events };
}

async function inboxStatus(messageIds: string[]): Promise<Record<string, number>> {
  const r = await h.db.query<{ message_id: string; status: number }>('SELECT message_id, status FROM inbox WHERE source_id = $1 AND message_id = ANY($2::text[])', [source.id, messageIds]);
  return Object.fromEntries(r.rows.map((x) => [x.message_id, x.status]));
}

describe('inline ingest (messages processed in the accepting request)', () => {
  it('processes concurrent requests together: each message once, people linked across requests', async () => {
    // 12 requests at once. Person i is seen as a device in request i and logs in (device + user
    // id + phone) in request i+1, so merges cross request boundaries; request 5 repeats a message of request 4.
    const bodies = Array.from({ length: 12 }, (_, r) => {
      const batch: Record<string, unknown>[] = [];
      for (let k = 0; k < 20; k++) {
        batch.push({ type: 'track', messageId: `cc-${r}-${k}-a`, anonymousId: `dev-${r}-${k}`, event: 'Product Viewed', properties: { k } });
        if (r > 0) {
          batch.push({ type: 'identify', messageId: `cc-${r}-${k}-b`, anonymousId: `dev-${r - 1}-${k}`, userId: `cu-${r - 1}-${k}`, traits: { phone: `+86139${String(r - 1).padStart(2, '0')}${String(k).padStart(6, '0')}` } });
        }
      }
      if (r === 5) batch.push({ type: 'track', messageId: 'cc-4-0-a', anonymousId: 'dev-4-0', event: 'Product Viewed', properties: { k: 0 } });
      return batch;
    });
    const answers = await Promise.all(bodies.map((b) => send(h, source.writeKey, b)));
    for (const a of answers) expect(a.statusCode).toBe(200);
    const totals = answers.map((a) => a.json() as { accepted: number; duplicates: number });
    expect(totals.reduce((n, t) => n + t.accepted, 0)).toBe(12 * 20 + 11 * 20);
    expect(totals.reduce((n, t) => n + t.duplicates, 0)).toBe(1);
    // Right after the answers, with no worker: every device and its login are one customer.
    for (const [r, k] of [[0, 0], [4, 0], [10, 19]] as const) {
      const byDevice = await lookup('anonymous_id', `dev-${r}-${k}`);
      const byUser = await lookup('user_id', `cu-${r}-${k}`);
      expect(byDevice.statusCode).toBe(200);
      expect(byUser.id).toBe(byDevice.id);
      expect(byDevice.events).toBe(2);
    }
    const events = await h.db.query<{ n: number; d: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS d FROM events WHERE source_id = $1 AND message_id LIKE 'cc-%'",
      [source.id],
    );
    expect(events.rows[0]).toEqual({ n: 460, d: 460 });
    const pending = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE source_id = $1 AND status = 0', [source.id]);
    expect(pending.rows[0]?.n).toBe(0);
  });

  it("stores each event with its own request's source and receipt time when requests share a transaction", async () => {
    const other = await makeSource(h, h.adminKey, 'other_origin');
    const inline = new InlineIngest(h.datong.deps, { maxBatch: 500, concurrency: 1 });
    const at = (s: number) => new Date(Date.parse('2026-09-03T08:00:00Z') + s * 1000);
    const sent = [
      [source.id, 'or-1', at(0)],
      [other.id, 'or-2', at(1)],
      [source.id, 'or-3', at(2)],
      [other.id, 'or-4', at(3)],
      [other.id, 'or-5', at(3)],
    ] as const;
    // Sent at once: the later ones wait for the first transaction and share the next.
    await Promise.all(sent.map(([src, id, t]) => inline.submit(DEFAULT_TENANT_ID, src, [{ type: 'track', messageId: id, userId: `origin-${id}`, event: 'E' }], t)));
    const rows = await h.db.query<{ message_id: string; source_id: string; received_at: Date | string }>(
      "SELECT message_id, source_id, received_at FROM events WHERE message_id LIKE 'or-%' ORDER BY message_id",
    );
    expect(rows.rows.map((r) => [r.message_id, r.source_id, new Date(r.received_at).toISOString()])).toEqual(sent.map(([src, id, t]) => [id, src, t.toISOString()]));
  });

  it('counts a message already stored for the workers as a duplicate, and it takes effect once', async () => {
    const msg = { type: 'track', messageId: 'both-ways-1', userId: 'bw-user', event: 'Clicked' };
    await storeInbox(h.db, h.datong.deps.keyring, DEFAULT_TENANT_ID, source.id, [msg], new Date());
    const r = await send(h, source.writeKey, [msg, { ...msg, messageId: 'both-ways-2' }]);
    expect(r.json()).toEqual({ success: true, accepted: 1, duplicates: 1 });
    await h.drain();
    expect((await lookup('user_id', 'bw-user')).events).toBe(2);
  });

  it('quarantines an unusable message in the request and keeps it in the inbox as quarantined', async () => {
    const r = await send(h, source.writeKey, [
      { type: 'track', messageId: 'q-none', event: 'No one' },
      { type: 'identify', messageId: 'q-phone', userId: 'q-user', traits: { phone: 'not a phone' } },
    ]);
    expect(r.json()).toEqual({ success: true, accepted: 2, duplicates: 0 });
    expect(await inboxStatus(['q-none', 'q-phone'])).toEqual({ 'q-none': 2, 'q-phone': 1 });
    const q = await h.db.query<{ message_id: string; kind: string; field: string | null }>(
      "SELECT message_id, kind, field FROM quarantine WHERE source_id = $1 AND message_id LIKE 'q-%' ORDER BY message_id",
      [source.id],
    );
    expect(q.rows).toEqual([
      { message_id: 'q-none', kind: 'message', field: null },
      { message_id: 'q-phone', kind: 'value', field: expect.stringContaining('phone') },
    ]);
    expect((await lookup('user_id', 'q-user')).statusCode).toBe(200);
  });

  it('loses nothing when processing fails: the messages wait in the inbox and the workers process them', async () => {
    const real = h.db;
    let failures = 0;
    // The processing transaction fails (as on a bug or a lost connection); plain statements work.
    const failingTx: Db = {
      kind: real.kind,
      query: (sql, params) => real.query(sql, params),
      exec: (sql) => real.exec(sql),
      tx: async () => {
        failures++;
        throw new Error('connection lost mid-transaction');
      },
      close: async () => undefined,
    };
    const inline = new InlineIngest({ ...h.datong.deps, db: failingTx }, { maxBatch: 500, concurrency: 1 });
    const result = await inline.submit(DEFAULT_TENANT_ID, source.id, [
      { type: 'identify', messageId: 'fail-1', userId: 'fail-user', traits: { name: 'Wang Fang' } },
      { type: 'track', messageId: 'fail-2', userId: 'fail-user', event: 'Clicked' },
    ], new Date());
    expect(failures).toBe(1);
    expect(result).toEqual({ accepted: 2, duplicates: 0 });
    expect(await inboxStatus(['fail-1', 'fail-2'])).toEqual({ 'fail-1': 0, 'fail-2': 0 });
    expect(h.logs.some((l) => l.includes('ingest.inline_failed'))).toBe(true);
    await h.drain();
    expect(await inboxStatus(['fail-1', 'fail-2'])).toEqual({ 'fail-1': 1, 'fail-2': 1 });
    expect((await lookup('user_id', 'fail-user')).events).toBe(2);
  });

  it('rejects the request when the messages can be neither processed nor stored (the sender retries)', async () => {
    const broken: Db = {
      kind: h.db.kind,
      query: async () => {
        throw new Error('database down');
      },
      exec: async () => undefined,
      tx: async () => {
        throw new Error('database down');
      },
      close: async () => undefined,
    };
    const inline = new InlineIngest({ ...h.datong.deps, db: broken }, { maxBatch: 500, concurrency: 1 });
    await expect(inline.submit(DEFAULT_TENANT_ID, source.id, [{ type: 'track', messageId: 'down-1', userId: 'x', event: 'E' }], new Date())).rejects.toThrow('database down');
    expect(await inboxStatus(['down-1'])).toEqual({});
  });
});
