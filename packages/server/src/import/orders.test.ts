import { describe, expect, it } from 'vitest';
import { guessMapping } from './fields.js';
import { compileImportMapping, type ImportMappingSpec } from './mapping.js';
import { RecordBuilder, scanOrders } from './orders.js';
import { runImportPipeline, type ImportSink } from './pipeline.js';
import { buildRow, makePlan } from './records.js';
import type { Cell, RejectedRow, SegmentMessage, TableRow } from './types.js';

// Issue 4: POS and shop exports have one row per order line. Before, every line made its own
// `track` with the order's messageId, so the inbox kept the first line and dropped the others.

const HASH = 'd'.repeat(64);
const COLUMNS = ['订单号', '门店', '手机号', '姓名', '实付金额', '小计', '币种', '支付时间', '状态', 'SKU', '商品名称', '数量', '单价'];
const SPEC: ImportMappingSpec = {
  fields: {
    order_id: '订单号',
    shop_id: '门店',
    phone: '手机号',
    name: '姓名',
    total: '实付金额',
    line_total: '小计',
    currency: '币种',
    paid_at: '支付时间',
    status: '状态',
    sku: 'SKU',
    product_name: '商品名称',
    quantity: '数量',
    price: '单价',
  },
};

function planOf(spec: ImportMappingSpec = SPEC, columns: string[] = COLUMNS) {
  return makePlan(compileImportMapping('orders', spec, columns), HASH, 'imp_orders');
}

/** Table rows from arrays in COLUMNS order; the header is row 1. */
function table(lines: readonly (readonly Cell[])[], columns: string[] = COLUMNS): TableRow[] {
  return lines.map((cells, i) => ({ row: i + 2, values: Object.fromEntries(columns.map((c, j) => [c, cells[j] ?? null])) }));
}

async function* iterate(rows: readonly TableRow[]): AsyncGenerator<TableRow> {
  for (const r of rows) yield r;
}

/** Runs the whole pipeline (with the scan) into a receiver that keeps messages by messageId, as the inbox does. */
async function run(rows: readonly TableRow[], plan = planOf(), opts: { scan?: boolean } = {}) {
  const stored = new Map<string, SegmentMessage>();
  const rejected: RejectedRow[] = [];
  const sink: ImportSink = {
    send(unit) {
      let accepted = 0;
      for (const m of unit.messages) {
        const id = String(m['messageId']);
        if (!stored.has(id)) {
          stored.set(id, m);
          accepted++;
        }
      }
      rejected.push(...unit.rejected);
      return Promise.resolve({ accepted, duplicates: unit.messages.length - accepted, quarantined: unit.rejected.length });
    },
  };
  const r = await runImportPipeline({ rows: iterate(rows), ...(opts.scan === false ? {} : { scanRows: iterate(rows) }), plan, sink });
  const tracks = [...stored.values()].filter((m) => m['type'] === 'track');
  return { result: r, stored, tracks, rejected, reasons: (row: number) => rejected.find((x) => x.row === row)?.problems.map((p) => p.message) ?? [] };
}

const props = (m: SegmentMessage | undefined): Record<string, unknown> => (m?.['properties'] ?? {}) as Record<string, unknown>;

describe('order lines', () => {
  it('makes one Order Completed of three consecutive lines, with every product in file order and the total once', async () => {
    const { result, tracks, stored } = await run(
      table([
        ['P-1', 'store-01', '13812345678', '李雷', '129.90', '', '', '2026/11/01 10:00', '已完成', 'A1', '牛奶', 2, '19.90'],
        ['P-1', 'store-01', '13812345678', '李雷', '129.90', '', '', '2026/11/01 10:00', '已完成', 'B2', '面包', 1, '60.00'],
        ['P-1', 'store-01', '13812345678', '李雷', '129.90', '', '', '2026/11/01 10:00', '已完成', 'C3', '鸡蛋', 3, '10.10'],
        ['P-2', 'store-01', '13912345678', '韩梅梅', '5.00', '', '', '2026/11/01 11:00', '已完成', 'A1', '牛奶', 1, '5.00'],
      ]),
    );
    expect(tracks).toHaveLength(2);
    expect(tracks[0]).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      timestamp: '2026-11-01T02:00:00.000Z',
      properties: {
        order_id: 'P-1',
        total: '129.90',
        currency: 'CNY',
        shop_id: 'store-01',
        products: [
          { sku: 'A1', name: '牛奶', quantity: 2, price: '19.90' },
          { sku: 'B2', name: '面包', quantity: 1, price: '60.00' },
          { sku: 'C3', name: '鸡蛋', quantity: 3, price: '10.10' },
        ],
      },
      context: { import: { id: 'imp_orders', row: 2, lastRow: 4, lines: 3 }, externalIds: [{ id: '+8613812345678', type: 'phone' }] },
    });
    // One identify for the buyer of the order, not one per line.
    expect([...stored.values()].filter((m) => m['type'] === 'identify').map((m) => m['messageId'])).toEqual([`imp-${planOf().key}-2-b`, `imp-${planOf().key}-5-b`]);
    expect(result.counts).toMatchObject({ rowsRead: 4, valid: 4, invalid: 0, orders: 2, ordersRejected: 0, messages: 4, lastRow: 5 });
  });

  it('sums the line amounts exactly when the file has no order total', async () => {
    // 0.1 + 0.2 in floating point is 0.30000000000000004; amounts are added in minor units.
    const { tracks } = await run(
      table([
        ['S-9', '', '13812345678', '', '', '0.10', '', '', '', 'A', '', 1, ''],
        ['S-9', '', '13812345678', '', '', 0.2, '', '', '', 'B', '', 1, ''],
        ['S-9', '', '13812345678', '', '', '1,299.99', '', '', '', 'C', '', 1, ''],
      ]),
    );
    expect(props(tracks[0])).toMatchObject({ total: '1300.29', products: [{ sku: 'A', amount: '0.10' }, { sku: 'B', amount: '0.20' }, { sku: 'C', amount: '1299.99' }] });
  });

  it('takes the order columns written on the first line only (Shopify-style exports leave them blank below)', async () => {
    const { tracks, result } = await run(
      table([
        ['Q-1', 'store-02', '13812345678', '李雷', '88.00', '', 'USD', '2026-11-01 09:00', 'paid', 'A', '', 1, '50.00'],
        ['Q-1', '', '', '', '', '', '', '', '', 'B', '', 1, '38.00'],
      ]),
    );
    expect(result.counts).toMatchObject({ valid: 2, orders: 1 });
    expect(tracks[0]).toMatchObject({
      context: { externalIds: [{ id: '+8613812345678', type: 'phone' }] },
      properties: { order_id: 'Q-1', shop_id: 'store-02', total: '88.00', currency: 'USD', status: 'paid', products: [{ sku: 'A', price: '50.00' }, { sku: 'B', price: '38.00' }] },
    });
  });

  it("reads a line that leaves the currency blank in its order's currency", async () => {
    // Yen have no minor unit: 500.5 is not an amount in JPY, though it is one in CNY (the import's default).
    const { tracks, reasons } = await run(
      table([
        ['J-1', 's', '13812345678', '', '1000', '', 'JPY', '', '', 'A', '', 1, '500'],
        ['J-1', 's', '', '', '', '', '', '', '', 'B', '', 1, '500.5'],
      ]),
    );
    expect(tracks).toEqual([]);
    expect(reasons(3)[0]).toBe('price is not an exact amount in JPY (at most 0 decimals, digits only)');
  });

  it('rejects the whole order when a line names another buyer, and says why on every row', async () => {
    const { tracks, rejected, reasons, result } = await run(
      table([
        ['P-1', 's', '13812345678', '', '30.00', '', '', '', '', 'A', '', 1, '10.00'],
        ['P-1', 's', '13912345678', '', '30.00', '', '', '', '', 'B', '', 1, '10.00'],
        ['P-1', 's', '13812345678', '', '30.00', '', '', '', '', 'C', '', 1, '10.00'],
        ['P-2', 's', '13812345678', '', '1.00', '', '', '', '', 'D', '', 1, '1.00'],
      ]),
    );
    expect(tracks.map((t) => props(t)['order_id'])).toEqual(['P-2']);
    expect(rejected.map((r) => r.row)).toEqual([2, 3, 4]);
    expect(reasons(3)).toEqual([
      "phone differs from the buyer's phone on row 2 of the same order: the lines of one order must agree (another buyer is another order, with its own order id)",
      'the whole order (rows 2–4) is rejected with this line; fix it from the entry of row 2, which holds the order with every line',
    ]);
    expect(reasons(2)).toEqual(['rejected with its order (rows 2–4) because of row 3; this entry holds the order with every line']);
    // The first row's entry carries the order with every line (the fix starts from it); the others none, so a fix imports it once.
    expect(rejected[0]?.message).toMatchObject({ type: 'track', properties: { order_id: 'P-1', products: [{ sku: 'A' }, { sku: 'B' }, { sku: 'C' }] } });
    expect(rejected.slice(1).map((r) => r.message)).toEqual([null, null]);
    expect(new Set(rejected.map((r) => r.messageId)).size).toBe(1);
    expect(result.counts).toMatchObject({ valid: 1, invalid: 3, orders: 1, ordersRejected: 1 });
  });

  it('rejects an order whose lines disagree on the currency or the order total, or has a bad line', async () => {
    const { tracks, reasons, result } = await run(
      table([
        ['C-1', 's', '13812345678', '', '10.00', '', 'CNY', '', '', 'A', '', 1, ''],
        ['C-1', 's', '13812345678', '', '10.00', '', 'USD', '', '', 'B', '', 1, ''],
        ['T-1', 's', '13812345678', '', '10.00', '', '', '', '', 'A', '', 1, ''],
        ['T-1', 's', '13812345678', '', '12.00', '', '', '', '', 'B', '', 1, ''],
        ['Q-1', 's', '13812345678', '', '10.00', '', '', '', '', 'A', '', 1, ''],
        ['Q-1', 's', '13812345678', '', '10.00', '', '', '', '', 'B', '', 'two', ''],
      ]),
    );
    expect(tracks).toEqual([]);
    expect(reasons(3)[0]).toBe('currency differs from the currency on row 2 of the same order: the lines of one order must agree');
    expect(reasons(5)[0]).toMatch(/^total differs from the total on row 4 of the same order: .*map it to line_total/);
    expect(reasons(7)[0]).toBe('quantity is not a whole number of items');
    expect(reasons(6)).toEqual(['rejected with its order (rows 6–7) because of row 7; this entry holds the order with every line']);
    expect(result.counts).toMatchObject({ valid: 0, invalid: 6, orders: 0, ordersRejected: 3 });
  });

  it('keeps an order together across blank rows and rows without an order id, and splits on another shop or status', async () => {
    const { tracks, reasons, result } = await run(
      table([
        ['P-1', 's1', '13812345678', '', '3.00', '', '', '', '已完成', 'A', '', 1, ''],
        [],
        ['', '', '13812345678', '', '9.00', '', '', '', '', 'Z', '', 1, ''],
        ['P-1', 's1', '13812345678', '', '3.00', '', '', '', '已完成', 'B', '', 1, ''],
        ['P-1', 's2', '13812345678', '', '4.00', '', '', '', '已完成', 'C', '', 1, ''],
        ['P-1', 's2', '13812345678', '', '4.00', '', '', '', '已取消', 'C', '', 1, ''],
      ]),
    );
    expect(tracks.map((t) => [props(t)['shop_id'], t['event'], (props(t)['products'] as { sku: string }[]).map((p) => p.sku)])).toEqual([
      ['s1', 'Order Completed', ['A', 'B']],
      ['s2', 'Order Completed', ['C']],
      ['s2', 'Order Cancelled', ['C']],
    ]);
    expect(reasons(4)).toEqual(['order_id is empty']);
    expect(result.counts).toMatchObject({ valid: 4, invalid: 1, blank: 1, orders: 3 });
  });

  describe('lines of an order that are not on consecutive rows', () => {
    const scattered = table([
      ['P-1', 's', '13812345678', '', '30.00', '', '', '', '', 'A', '', 1, ''],
      ['P-1', 's', '13812345678', '', '30.00', '', '', '', '', 'B', '', 1, ''],
      ['P-2', 's', '13912345678', '', '5.00', '', '', '', '', 'X', '', 1, ''],
      ['P-1', 's', '13812345678', '', '30.00', '', '', '', '', 'C', '', 1, ''],
    ]);

    it('rejects every line of the order, wherever it is, once the scan has found it', async () => {
      const { tracks, rejected, reasons, result } = await run(scattered);
      expect(result.scan?.scattered.size).toBe(1);
      expect(tracks.map((t) => props(t)['order_id'])).toEqual(['P-2']);
      expect(rejected.map((r) => r.row)).toEqual([2, 3, 5]);
      const why = 'the lines of this order are not on consecutive rows (they are in 2 places, from rows 2 and 5): the whole order is rejected, wherever its lines are. Sort the file by order id so that each order\'s lines are together, and import it again';
      expect(reasons(2)).toEqual([why]);
      expect(reasons(5)).toEqual([why]);
      // Nothing to fix from: a fix of one part would import the order without its other lines.
      expect(rejected.map((r) => r.message)).toEqual([null, null, null]);
      // Counted once, as one rejected order.
      expect(result.counts).toMatchObject({ valid: 1, invalid: 3, orders: 1, ordersRejected: 1 });
    });

    it('without a scan, rejects the lines that come back and says where the order began', async () => {
      const { tracks, reasons } = await run(scattered, planOf(), { scan: false });
      expect(tracks.map((t) => [props(t)['order_id'], (props(t)['products'] as unknown[]).length])).toEqual([
        ['P-1', 2],
        ['P-2', 1],
      ]);
      expect(reasons(5)).toEqual([
        "this order's lines began at row 2, and other rows came in between: the lines from row 5 are rejected (the order was imported without them). Keep each order's lines on consecutive rows",
      ]);
    });

    it('finds them with the same grouping as the import', async () => {
      const scan = await scanOrders(planOf(), iterate(scattered));
      expect([...scan.scattered.values()]).toEqual([[2, 5]]);
      expect(scan.rows).toBe(4);
    });
  });

  it('gives no record of an order until the row after it shows the order is complete', async () => {
    const builder = new RecordBuilder(planOf());
    const rows = table([
      ['P-1', 's', '13812345678', '', '2.00', '', '', '', '', 'A', '', 1, ''],
      ['P-1', 's', '13812345678', '', '2.00', '', '', '', '', 'B', '', 1, ''],
      ['P-2', 's', '13812345678', '', '1.00', '', '', '', '', 'C', '', 1, ''],
    ]);
    expect(await builder.push(rows[0] as TableRow)).toEqual([]);
    expect(await builder.push(rows[1] as TableRow)).toEqual([]);
    const done = await builder.push(rows[2] as TableRow);
    expect(done.map((r) => [r.fromRow, r.toRow, r.valid, r.orders])).toEqual([[2, 3, 2, 1]]);
    expect(builder.end().map((r) => [r.fromRow, r.toRow])).toEqual([[4, 4]]);
  });

  it('still imports a one-row order as before', async () => {
    const plan = planOf();
    const [row] = table([['P-7', 's', '13812345678', '', '9.90', '', '', '', '', '', '', null, '']]);
    const alone = await buildRow(plan, row as TableRow);
    const { stored } = await run([row as TableRow]);
    expect(alone.kind === 'ok' && alone.messages).toEqual([...stored.values()]);
    expect(props([...stored.values()][0])).toEqual({ order_id: 'P-7', total: '9.90', currency: 'CNY', status: 'completed', platform: 'offline', shop_id: 's' });
  });
});

describe('order mapping', () => {
  it('needs total or line_total, and guesses 小计 as the line amount', () => {
    expect(() => compileImportMapping('orders', { fields: { order_id: 'o', phone: 'p' } }, ['o', 'p'])).toThrow(/orders imports need "total" or "line_total" mapped/);
    expect(() => compileImportMapping('orders', { fields: { order_id: 'o', phone: 'p', line_total: 'l' } }, ['o', 'p', 'l'])).not.toThrow();
    expect(guessMapping('orders', ['订单号', '手机', '商品名称', '数量', '小计', '实付金额'])).toMatchObject({ line_total: '小计', total: '实付金额' });
  });
});
