import { existsSync } from 'node:fs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimImport, runImport, runPendingImports } from '../../import/job.js';
import { basic, bearer, createHarness, makeSource, type Harness } from '../../test-support/harness.js';

// A GBK order export as a Chinese POS writes it: row 4 has a bad phone, row 5 an inexact amount.
const ORDERS_CSV = iconv.encode(
  [
    '订单号,门店,会员手机号,姓名,实付金额,支付时间,订单状态,备注',
    'P-1001,store-01,138 1234 5678,李雷,199.00,2026/11/01 10:00,已完成,',
    'P-1002,store-01,13912345678,韩梅梅,"1,299.50",2026/11/01 11:30,已完成,"两行\n备注"',
    'P-1003,store-02,12345,王五,20.00,2026/11/02 09:00,已完成,',
    'P-1004,store-02,13812345678,李雷,9.999,2026/11/02 12:00,已完成,',
    'P-1005,store-02,13812345678,李雷,50.00,2026/11/03 12:00,已取消,',
  ].join('\r\n') + '\r\n',
  'gbk',
);

describe('imports routes', () => {
  let h: Harness;
  let source: { id: string; writeKey: string };

  beforeAll(async () => {
    h = await createHarness();
    source = await makeSource(h, h.adminKey, 'pos');
  });
  afterAll(async () => {
    await h.close();
  });

  const upload = (body: Buffer, query: string, contentType = 'text/csv') =>
    h.inject({ method: 'POST', url: `/v1/imports?${query}`, headers: { ...bearer(h.adminKey), 'content-type': contentType }, payload: body });

  it('uploads, previews, runs and reports a GBK order file end to end, quarantining the bad rows with their row numbers', async () => {
    const up = await upload(ORDERS_CSV, `type=orders&sourceId=${source.id}&name=${encodeURIComponent('门店订单.csv')}`);
    expect(up.statusCode).toBe(201);
    const item = up.json<{ id: string; status: string; columns: string[]; mapping: { fields: Record<string, string> }; format: string; fileBytes: number }>();
    expect(item).toMatchObject({ status: 'uploaded', format: 'csv', fileBytes: ORDERS_CSV.length });
    expect(item.columns).toEqual(['订单号', '门店', '会员手机号', '姓名', '实付金额', '支付时间', '订单状态', '备注']);
    expect(item.mapping.fields).toEqual({ phone: '会员手机号', name: '姓名', order_id: '订单号', shop_id: '门店', status: '订单状态', total: '实付金额', paid_at: '支付时间' });

    const pv = await h.inject({ method: 'POST', url: `/v1/imports/${item.id}/preview`, headers: bearer(h.adminKey), payload: {} });
    expect(pv.statusCode).toBe(200);
    const preview = pv.json<{ encoding: { encoding: string }; guessed: boolean; unmappedColumns: string[]; samples: { row: number; messages?: unknown[] }[]; errors: { row: number; problems: { field: string }[] }[]; scanned: Record<string, unknown> }>();
    expect(preview.encoding.encoding).toBe('gb18030');
    expect(preview.guessed).toBe(false);
    expect(preview.unmappedColumns).toEqual(['备注']);
    expect(preview.samples[0]).toMatchObject({ row: 2, messages: [{ type: 'identify', traits: { name: '李雷' } }, { type: 'track', event: 'Order Completed', properties: { total: '199.00', shop_id: 'store-01' } }] });
    expect(preview.errors.map((e) => [e.row, e.problems.map((p) => p.field)])).toEqual([[4, ['phone']], [5, ['total']]]);
    expect(preview.scanned).toEqual({ rows: 5, valid: 3, invalid: 2, blank: 0, messages: 6, orders: 3, ordersRejected: 2, truncated: false });
    // A dry run stores nothing.
    expect((await h.db.query('SELECT count(*)::int AS n FROM inbox')).rows[0]).toEqual({ n: 0 });

    const st = await h.inject({ method: 'POST', url: `/v1/imports/${item.id}/start`, headers: bearer(h.adminKey), payload: {} });
    expect(st.statusCode).toBe(200);
    expect(st.json()).toMatchObject({ status: 'queued' });
    expect(await runPendingImports(h.datong.deps, 'test-worker')).toBe(1);

    const done = (await h.inject({ method: 'GET', url: `/v1/imports/${item.id}`, headers: bearer(h.adminKey) })).json<Record<string, unknown>>();
    expect(done).toMatchObject({
      status: 'done',
      progress: { percent: 100, lastRow: 6 },
      counts: { valid: 3, invalid: 2, blank: 0, messages: 6, accepted: 6, duplicates: 0, quarantined: 2, orders: 3, ordersRejected: 2 },
      error: null,
    });
    await h.drain();
    const who = await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=phone&value=${encodeURIComponent('+8613812345678')}`, headers: bearer(h.adminKey) });
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({ traits: { name: '李雷' } });
    const events = await h.db.query<{ name: string; amount: string | null }>("SELECT event AS name, amount_minor::text AS amount FROM events WHERE event LIKE 'Order%' ORDER BY occurred_at");
    expect(events.rows).toEqual([
      { name: 'Order Completed', amount: '19900' },
      { name: 'Order Completed', amount: '129950' },
      { name: 'Order Cancelled', amount: null },
    ]);

    const q = (await h.inject({ method: 'GET', url: '/v1/quarantine', headers: bearer(h.adminKey) })).json<{ data: { kind: string; sourceId: string; reason: string; payload: Record<string, unknown> }[] }>();
    const mine = q.data.filter((x) => x.sourceId === source.id).sort((a, b) => a.reason.localeCompare(b.reason));
    expect(mine.map((x) => x.reason)).toEqual(['row 4: phone is not a valid phone number', 'row 5: total is not an exact amount in CNY (at most 2 decimals, digits only)']);
    expect(mine[0]).toMatchObject({ kind: 'message', payload: { import: { id: item.id, file: '门店订单.csv', row: 4 }, row: { 订单号: 'P-1003', 会员手机号: '12345' }, message: { type: 'track' } } });
    // The file is removed once the import is done.
    expect(existsSync(`${h.dataDir}/imports`)).toBe(true);
    expect((await h.db.query<{ file_path: string | null }>('SELECT file_path FROM imports WHERE id = $1', [item.id])).rows[0]?.file_path).toBeNull();

    // A done import cannot be started again.
    const again = await h.inject({ method: 'POST', url: `/v1/imports/${item.id}/start`, headers: bearer(h.adminKey), payload: {} });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json()).toMatchObject({ code: 'IMPORT_STATE_CONFLICT' });
  });

  it('stores nothing twice when the same file is imported again', async () => {
    const up = (await upload(ORDERS_CSV, `type=orders&sourceId=${source.id}`)).json<{ id: string }>();
    await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/start`, headers: bearer(h.adminKey), payload: {} });
    await runPendingImports(h.datong.deps, 'test-worker');
    const r = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<{ counts: Record<string, number> }>();
    // messageIds come from the file's hash, the mapping and the row (orders: from the order itself).
    expect(r.counts).toMatchObject({ valid: 3, messages: 6, accepted: 0, duplicates: 6, invalid: 2 });
  });

  it('resumes an interrupted import from its checkpoint after a restart without storing a row twice', async () => {
    const lines = ['手机号,姓名'];
    for (let i = 0; i < 1_234; i++) lines.push(`137${String(i).padStart(8, '0')},客户${i}`);
    const up = (await upload(Buffer.from(lines.join('\n')), `type=customers&sourceId=${source.id}`)).json<{ id: string }>();
    await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/start`, headers: bearer(h.adminKey), payload: {} });

    // The process stops (Ctrl-C, deploy) after the first unit is stored.
    const stop = new AbortController();
    const imp = await claimImport(h.db, 'worker-1', h.now());
    expect(imp?.id).toBe(up.id);
    if (!imp) return;
    await runImport({ ...h.datong.deps, kick: () => stop.abort() }, imp, 'worker-1', stop.signal);
    const mid = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<{ status: string; progress: { lastRow: number }; counts: Record<string, number> }>();
    expect(mid.status).toBe('running');
    // The first unit (rows 2-501) and the rows read while it was being stored are in.
    expect(mid.progress.lastRow).toBeGreaterThanOrEqual(501);
    expect(mid.progress.lastRow).toBeLessThan(1_235);
    expect(mid.counts).toMatchObject({ valid: mid.progress.lastRow - 1, accepted: mid.progress.lastRow - 1 });

    // The next start (another worker) takes it over at once and continues after row 501.
    expect(await runPendingImports(h.datong.deps, 'worker-2')).toBe(1);
    const end = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<{ status: string; counts: Record<string, number> }>();
    expect(end).toMatchObject({ status: 'done', counts: { valid: 1_234, messages: 1_234, accepted: 1_234, duplicates: 0 } });
    const stored = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbox WHERE source_id = $1 AND message_id LIKE 'imp-%-c'", [source.id]);
    expect(stored.rows[0]?.n).toBe(1_234);
  });

  it('imports an export with one row per order line: one order per order id, every line on the timeline, contradicting and scattered orders quarantined whole', async () => {
    // Issue 4: the second and third lines of an order used to get the order's messageId and be dropped as duplicates.
    const csv = [
      '订单号,门店,会员手机号,姓名,实付金额,支付时间,订单状态,商品名称,数量,单价',
      'M-1,store-01,13700000001,王芳,89.70,2026/11/05 10:00,已完成,拿铁,2,25.90',
      'M-1,store-01,13700000001,王芳,89.70,2026/11/05 10:00,已完成,可颂,1,18.00',
      'M-1,store-01,13700000001,王芳,89.70,2026/11/05 10:00,已完成,美式,1,19.90',
      'M-2,store-01,13700000002,赵六,30.00,2026/11/05 11:00,已完成,拿铁,1,25.90',
      'M-2,store-01,13700000009,赵六,30.00,2026/11/05 11:00,已完成,可颂,1,4.10',
      'M-3,store-02,13700000001,王芳,10.00,2026/11/06 09:00,已完成,水,1,10.00',
      'M-4,store-02,13700000003,孙七,20.00,2026/11/06 10:00,已完成,茶,1,20.00',
      'M-3,store-02,13700000001,王芳,10.00,2026/11/06 09:00,已完成,水,1,10.00',
    ].join('\n');
    const up = (await upload(Buffer.from(csv), `type=orders&sourceId=${source.id}&name=lines.csv`)).json<{ id: string; mapping: { fields: Record<string, string> } }>();
    expect(up.mapping.fields).toMatchObject({ order_id: '订单号', phone: '会员手机号', total: '实付金额', product_name: '商品名称', quantity: '数量', price: '单价' });

    const preview = (await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/preview`, headers: bearer(h.adminKey), payload: {} })).json<{
      samples: { row: number; messages?: { type: string; properties?: { total: string; products: unknown[] } }[] }[];
      scanned: Record<string, unknown>;
    }>();
    expect(preview.samples[0]).toMatchObject({ row: 2, messages: [{ type: 'identify' }, { type: 'track', properties: { total: '89.70', products: [{ name: '拿铁' }, { name: '可颂' }, { name: '美式' }] } }] });
    expect(preview.scanned).toEqual({ rows: 8, valid: 4, invalid: 4, blank: 0, messages: 4, orders: 2, ordersRejected: 2, truncated: false });

    await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/start`, headers: bearer(h.adminKey), payload: {} });
    expect(await runPendingImports(h.datong.deps, 'test-worker')).toBe(1);
    const done = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<Record<string, unknown>>();
    // The API reports the orders as well as the rows.
    expect(done).toMatchObject({ status: 'done', counts: { valid: 4, invalid: 4, messages: 4, accepted: 4, duplicates: 0, quarantined: 4, orders: 2, ordersRejected: 2 } });

    await h.drain();
    const who = (await h.inject({ method: 'GET', url: `/v1/customers/lookup?type=phone&value=${encodeURIComponent('+8613700000001')}`, headers: bearer(h.adminKey) })).json<{ id: string }>();
    const tl = (await h.inject({ method: 'GET', url: `/v1/customers/${who.id}/timeline?type=track`, headers: bearer(h.adminKey) })).json<{
      data: { event: string; messageId: string; properties: { order_id: string; total: string; products: { name: string; quantity: number; price: string }[] } }[];
    }>();
    // M-3 has a line after another order: rejected whole, so only M-1 is on 王芳's timeline, once, with its three lines.
    expect(tl.data.map((e) => [e.event, e.properties.order_id])).toEqual([['Order Completed', 'M-1']]);
    expect(tl.data[0]?.properties).toMatchObject({
      total: '89.70',
      products: [
        { name: '拿铁', quantity: 2, price: '25.90' },
        { name: '可颂', quantity: 1, price: '18.00' },
        { name: '美式', quantity: 1, price: '19.90' },
      ],
    });
    const amount = await h.db.query<{ amount: string }>('SELECT amount_minor::text AS amount FROM events WHERE message_id = $1', [tl.data[0]?.messageId]);
    expect(amount.rows).toEqual([{ amount: '8970' }]);

    const q = (await h.inject({ method: 'GET', url: '/v1/quarantine?limit=200', headers: bearer(h.adminKey) })).json<{ data: { reason: string; payload: { import?: { id: string } } }[] }>();
    const mine = q.data.filter((x) => x.payload.import?.id === up.id).map((x) => x.reason).sort();
    expect(mine).toEqual([
      'row 5: rejected with its order (rows 5–6) because of row 6; this entry holds the order with every line',
      "row 6: phone differs from the buyer's phone on row 5 of the same order: the lines of one order must agree (another buyer is another order, with its own order id); the whole order (rows 5–6) is rejected with this line; fix it from the entry of row 5, which holds the order with every line",
      expect.stringMatching(/^row 7: the lines of this order are not on consecutive rows \(they are in 2 places, from rows 7 and 9\)/),
      expect.stringMatching(/^row 9: the lines of this order are not on consecutive rows/),
    ]);
  });

  it('resumes an interrupted order import at an order boundary, with every line of every order once', async () => {
    const lines = ['单号,手机号,姓名,金额,商品,数量'];
    for (let i = 0; i < 400; i++) for (let l = 0; l < 3; l++) lines.push(`R-${i},136${String(i).padStart(8, '0')},客户${i},3.00,SKU-${l},1`);
    const up = (await upload(Buffer.from(lines.join('\n')), `type=orders&sourceId=${source.id}`)).json<{ id: string }>();
    await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/start`, headers: bearer(h.adminKey), payload: {} });
    const stop = new AbortController();
    const imp = await claimImport(h.db, 'worker-1', h.now());
    expect(imp?.id).toBe(up.id);
    if (!imp) return;
    // Stops once the first unit (167 whole orders: 501 rows, the first unit of 500 rows or more) is stored, wherever the reading is then.
    await runImport({ ...h.datong.deps, kick: () => stop.abort() }, imp, 'worker-1', stop.signal);
    const mid = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<{ status: string; progress: { lastRow: number }; counts: Record<string, number> }>();
    expect(mid.status).toBe('running');
    expect(mid.progress.lastRow).toBeGreaterThanOrEqual(502);
    expect(mid.progress.lastRow).toBeLessThan(1_201);
    // The checkpoint is the last line of an order (rows 2-4 are R-0, …).
    expect((mid.progress.lastRow - 1) % 3).toBe(0);
    expect(mid.counts).toMatchObject({ valid: mid.progress.lastRow - 1 });

    expect(await runPendingImports(h.datong.deps, 'worker-2')).toBe(1);
    const end = (await h.inject({ method: 'GET', url: `/v1/imports/${up.id}`, headers: bearer(h.adminKey) })).json<{ status: string; counts: Record<string, number> }>();
    expect(end).toMatchObject({ status: 'done', counts: { valid: 1_200, invalid: 0, messages: 800, accepted: 800, duplicates: 0 } });
    await h.drain();
    const orders = await h.db.query<{ n: number; lines: number; amount: string }>(
      `SELECT count(*)::int AS n, min(jsonb_array_length(properties->'products'))::int AS lines, sum(amount_minor)::text AS amount
       FROM events WHERE event = 'Order Completed' AND properties->>'order_id' LIKE 'R-%'`,
    );
    expect(orders.rows[0]).toEqual({ n: 400, lines: 3, amount: '120000' });
  });

  it('quarantines the rows a CLI import reports with the write key, once', async () => {
    const body = {
      file: 'members.csv',
      rows: [{ row: 9, problems: [{ field: 'phone', message: 'phone is not a valid phone number' }], messageId: 'imp-abc-9-c', message: { type: 'identify', traits: { phone: '123' } }, data: { 手机: '123' } }],
    };
    const first = await h.inject({ method: 'POST', url: '/v1/imports/imp_cli0123456789/rows', headers: basic(source.writeKey), payload: body });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ quarantined: 1, duplicates: 0 });
    const second = await h.inject({ method: 'POST', url: '/v1/imports/imp_cli0123456789/rows', headers: basic(source.writeKey), payload: body });
    expect(second.json()).toEqual({ quarantined: 0, duplicates: 1 });
    const bad = await h.inject({ method: 'POST', url: '/v1/imports/imp_cli0123456789/rows', headers: basic('wk_wrong'), payload: body });
    expect(bad.statusCode).toBe(401);
  });

  it('answers problems for a missing import, an unknown source, an empty body, a bad mapping and a cancel', async () => {
    expect((await h.inject({ method: 'GET', url: '/v1/imports/imp_missing', headers: bearer(h.adminKey) })).json()).toMatchObject({ code: 'IMPORT_NOT_FOUND', status: 404 });
    expect((await upload(ORDERS_CSV, 'type=orders&sourceId=src_missing')).json()).toMatchObject({ code: 'SOURCE_NOT_FOUND' });
    expect((await upload(Buffer.alloc(0), `type=orders&sourceId=${source.id}`)).json()).toMatchObject({ code: 'IMPORT_FILE_INVALID' });
    const up = (await upload(ORDERS_CSV, `type=orders&sourceId=${source.id}`)).json<{ id: string }>();
    const pv = await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/preview`, headers: bearer(h.adminKey), payload: { mapping: { fields: { phone: '手机' } } } });
    expect(pv.statusCode).toBe(400);
    expect(pv.json()).toMatchObject({ code: 'MAPPING_INVALID', errors: [{ pointer: '/mapping/fields/phone' }, { pointer: '/mapping/fields/order_id' }, { pointer: '/mapping/fields/total' }] });
    const c = await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/cancel`, headers: bearer(h.adminKey) });
    expect(c.json()).toMatchObject({ status: 'cancelled' });
    expect((await h.inject({ method: 'POST', url: `/v1/imports/${up.id}/cancel`, headers: bearer(h.adminKey) })).statusCode).toBe(409);
    const list = (await h.inject({ method: 'GET', url: '/v1/imports?limit=2', headers: bearer(h.adminKey) })).json<{ data: unknown[]; nextCursor: string | null }>();
    expect(list.data).toHaveLength(2);
    expect(list.nextCursor).not.toBeNull();
  });
});
