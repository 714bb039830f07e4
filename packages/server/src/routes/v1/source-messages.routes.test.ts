import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runner } from '../../jobs/runner.js';
import { createUser, signIn, type Browser } from '../../test-support/console-users.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { expectProblem } from '../../test-support/problems.js';
import { storeInbox } from '../../usecases/ingest.js';
import { DEFAULT_TENANT_ID } from '../../tenants.js';

// Raw messages of inline ingest are kept once per request (inbox_batches: compressed, then
// encrypted) and each message's inbox row points into its batch. GET
// /v1/sources/{id}/messages/{messageId} reads a message back as it was sent, from either form.

let h: Harness;
let source: { id: string; writeKey: string };
let ops: Browser;

const batch = [
  { type: 'identify', messageId: 'raw-1', userId: 'raw-u1', traits: { name: '韩梅梅', phone: '+86 139 1234 5678', email: 'Mei@Example.cn' }, context: { ip: '10.1.2.3' } },
  { type: 'track', messageId: 'raw-2', userId: 'raw-u1', event: 'Order Completed', properties: { order_id: 'o-9', total: '12.50', currency: 'CNY', note: 'é ✓ 🚀' } },
  { type: 'track', messageId: 'raw-3', event: 'No identifier at all' },
];

beforeAll(async () => {
  h = await createHarness();
  source = await makeSource(h);
  await createUser(h, 'ops@example.com', 'ops');
  ops = await signIn(h, 'ops@example.com');
  expect((await send(h, source.writeKey, batch)).json()).toMatchObject({ accepted: 3, duplicates: 0 });
});
afterAll(async () => {
  await h.close();
});

const one = (messageId: string, sourceId = source.id) => h.inject({ method: 'GET', url: `/v1/sources/${sourceId}/messages/${messageId}`, headers: bearer(h.adminKey) });

describe('raw batches of inline ingest', () => {
  it('stores one sealed batch for the request, no plaintext, and a row per message pointing into it', async () => {
    const rows = await h.db.query<{ message_id: string; payload_enc: string | null; batch_id: string; batch_pos: number; status: number }>(
      "SELECT message_id, payload_enc, batch_id, batch_pos, status FROM inbox WHERE source_id = $1 AND message_id LIKE 'raw-%' ORDER BY message_id",
      [source.id],
    );
    expect(rows.rows.map((r) => [r.message_id, r.payload_enc, r.batch_pos, r.status])).toEqual([
      ['raw-1', null, 0, 1],
      ['raw-2', null, 1, 1],
      ['raw-3', null, 2, 2],
    ]);
    const batchId = rows.rows[0]?.batch_id;
    expect(new Set(rows.rows.map((r) => r.batch_id))).toEqual(new Set([batchId]));
    const b = await h.db.query<{ source_id: string; messages: number; payload_enc: string }>('SELECT source_id, messages, payload_enc FROM inbox_batches WHERE tenant_id = $1 AND id = $2', [
      DEFAULT_TENANT_ID,
      batchId,
    ]);
    expect(b.rows[0]).toMatchObject({ source_id: source.id, messages: 3 });
    const sealed = b.rows[0]?.payload_enc ?? '';
    expect(sealed.startsWith('v1.')).toBe(true);
    for (const plain of ['1234 5678', 'Mei@Example', 'raw-u1', 'Order Completed']) expect(sealed).not.toContain(plain);
  });

  it('reads each message back exactly as sent, with its status, and audits the read', async () => {
    for (const [i, status] of [[0, 'processed'], [1, 'processed'], [2, 'quarantined']] as const) {
      const r = await one(batch[i]?.messageId ?? '');
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ messageId: batch[i]?.messageId, status, attempts: 1, masked: false });
      expect(r.json().payload).toEqual(batch[i]);
      expect(Date.parse(r.json().processedAt)).toBeGreaterThanOrEqual(Date.parse(r.json().receivedAt) - 1000);
    }
    const audit = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'source.message.read' AND resource_id = $1", [source.id]);
    expect(audit.rows[0]?.n).toBe(3);
  });

  it('reads a message stored alone for the workers, pending and then processed', async () => {
    const msg = { type: 'track', messageId: 'raw-pending', userId: 'raw-u2', event: 'Product Viewed', properties: { sku: 'A' } };
    await storeInbox(h.db, h.datong.deps.keyring, DEFAULT_TENANT_ID, source.id, [msg], h.now());
    expect((await one('raw-pending')).json()).toMatchObject({ status: 'pending', attempts: 0, processedAt: null, payload: msg });
    await h.drain();
    expect((await one('raw-pending')).json()).toMatchObject({ status: 'processed', attempts: 1, payload: msg });
  });

  it('masks personal data for a role that masks it, and does not audit that read', async () => {
    const r = await ops.get(`/v1/sources/${source.id}/messages/raw-1`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ masked: true, payload: { userId: 'raw-u1', traits: { name: '韩**' } } });
    expect(r.body).not.toContain('1234 5678');
    expect(r.body).not.toContain('Mei@Example.cn');
    const audit = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'source.message.read' AND actor_label LIKE 'ops%'");
    expect(audit.rows[0]?.n).toBe(0);
  });

  it('answers 404 for an unknown message, another source, or another tenant', async () => {
    expectProblem(await one('no-such-message'), 404, 'SOURCE_MESSAGE_NOT_FOUND');
    const other = await makeSource(h);
    expectProblem(await one('raw-1', other.id), 404, 'SOURCE_MESSAGE_NOT_FOUND');
    const t = await h.newTenant();
    const r = await h.inject({ method: 'GET', url: `/v1/sources/${source.id}/messages/raw-1`, headers: bearer(t.adminKey) });
    expectProblem(r, 404, 'SOURCE_MESSAGE_NOT_FOUND');
  });

  it('lets retention delete the raw batches past the dedupe window and keep the recent ones', async () => {
    const real = h.now();
    h.setNow(new Date(real.getTime() + 31 * 86_400_000));
    try {
      await send(h, source.writeKey, [{ type: 'track', messageId: 'raw-late', userId: 'raw-u3', event: 'Product Viewed' }]);
      const runner = new Runner(h.datong.deps, { batchSize: 500, pollMs: 100, delivery: { schedule: [1000], random: () => 0.5 }, webhookConcurrency: 1, tagRecomputeMs: 60_000, inboxRetentionDays: 30 });
      await runner.retention();
      const left = await h.db.query<{ received_at: Date }>('SELECT received_at FROM inbox_batches WHERE tenant_id = $1 AND source_id = $2', [DEFAULT_TENANT_ID, source.id]);
      expect(left.rows.length).toBe(1);
      expect(new Date(left.rows[0]?.received_at ?? 0).getTime()).toBe(real.getTime() + 31 * 86_400_000);
      expectProblem(await one('raw-1'), 404, 'SOURCE_MESSAGE_NOT_FOUND');
    } finally {
      h.setNow(real);
    }
  });
});
