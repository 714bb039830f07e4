import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileImportMapping } from './mapping.js';
import { runImportPipeline, type ImportSink, type ImportUnit } from './pipeline.js';
import { makePlan } from './records.js';
import { fileSha256, openTable } from './table.js';
import type { TableRow } from './types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'datong-import-pipeline-'));
const ROWS = 200_000;
let big = '';

/** Writes a CSV of `n` customers, every 1000th with a bad phone. */
async function writeCustomers(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('手机号,姓名,城市\n');
  for (let i = 0; i < n; i++) {
    const phone = i % 1000 === 999 ? '12345' : `139${String(i).padStart(8, '0')}`;
    if (!out.write(`${phone},客户${i},"上海, 中国"\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

beforeAll(async () => {
  big = path.join(dir, 'big.csv');
  await writeCustomers(big, ROWS);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function planFor(file: string) {
  const t = await openTable(file);
  const mapping = compileImportMapping('customers', { fields: { phone: '手机号', name: '姓名', 'traits.city': '城市' } }, t.columns);
  t.close();
  return makePlan(mapping, await fileSha256(file));
}

/** A receiver that stores messages by messageId (as the inbox does) and acknowledges after a turn of the event loop. */
function fakeReceiver(opts: { failAfterUnits?: number } = {}) {
  const stored = new Set<string>();
  const sent: string[] = [];
  let units = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const sink: ImportSink = {
    async send(unit: ImportUnit) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 1));
        if (opts.failAfterUnits !== undefined && units >= opts.failAfterUnits) throw new Error('connection reset');
        units++;
        let accepted = 0;
        for (const m of unit.messages) {
          const id = String(m['messageId']);
          sent.push(id);
          if (!stored.has(id)) {
            stored.add(id);
            accepted++;
          }
        }
        return { accepted, duplicates: unit.messages.length - accepted, quarantined: unit.rejected.length };
      } finally {
        inFlight--;
      }
    },
  };
  return { sink, stored, sent, maxInFlight: () => maxInFlight };
}

describe('import pipeline', () => {
  it('streams 200,000 rows with a bounded number of rows in flight', async () => {
    const plan = await planFor(big);
    const t = await openTable(big);
    const recv = fakeReceiver();
    const r = await runImportPipeline({ rows: t.rows, plan, sink: recv.sink, concurrency: 3, batchMessages: 500 });
    expect(r.counts).toMatchObject({ rowsRead: ROWS, valid: ROWS - ROWS / 1000, invalid: ROWS / 1000, messages: ROWS - ROWS / 1000, lastRow: ROWS + 1 });
    expect(recv.stored.size).toBe(ROWS - ROWS / 1000);
    expect(recv.maxInFlight()).toBeLessThanOrEqual(3);
    // Memory is bounded by what is read and not yet acknowledged: at most the units in flight
    // plus the one being filled, whatever the file's size (the reader is paused meanwhile).
    expect(r.counts.maxInFlightRows).toBeLessThanOrEqual((3 + 1) * 500 + 1);
    expect(r.counts.maxInFlightRows).toBeGreaterThan(500);
  });

  it('collects samples and every error in a dry run and sends nothing', async () => {
    const plan = await planFor(big);
    const t = await openTable(big);
    const r = await runImportPipeline({ rows: t.rows, plan, sink: null, maxRows: 5000, sampleRows: 20, keepErrors: 3 });
    expect(r.truncated).toBe(true);
    expect(r.counts).toMatchObject({ rowsRead: 5000, valid: 4995, invalid: 5, accepted: 0 });
    expect(r.samples).toHaveLength(20);
    expect(r.samples[0]).toMatchObject({ row: 2, messages: [{ type: 'identify', traits: { phone: '+8613900000000', name: '客户0', city: '上海, 中国' } }] });
    expect(r.errors.map((e) => e.row)).toEqual([1001, 2001, 3001]);
  });

  it('resumes after Ctrl-C where it stopped, sending no row twice', async () => {
    const file = path.join(dir, 'resume.csv');
    await writeCustomers(file, 20_000);
    const plan = await planFor(file);
    const recv = fakeReceiver();
    const abort = new AbortController();
    let checkpoint = 0;
    const first = await runImportPipeline({
      rows: (await openTable(file)).rows,
      plan,
      sink: recv.sink,
      concurrency: 4,
      signal: abort.signal,
      onCheckpoint: (row) => {
        checkpoint = row;
        if (row > 6000) abort.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    // Everything read before the interruption was sent and acknowledged: the checkpoint covers it.
    expect(checkpoint).toBe(first.counts.lastRow);
    expect(recv.sent.length).toBe(first.counts.messages);
    const second = await runImportPipeline({ rows: (await openTable(file)).rows, plan, sink: recv.sink, resumeAfterRow: checkpoint, initial: first.counts });
    expect(second.counts.skipped).toBe(checkpoint - 1);
    expect(second.counts).toMatchObject({ valid: 19_980, invalid: 20, messages: 19_980, accepted: 19_980, duplicates: 0, lastRow: 20_001 });
    expect(recv.sent.length).toBe(19_980);
    expect(new Set(recv.sent).size).toBe(19_980);
  });

  it('after a crash, resumes from the last checkpoint and the deterministic ids absorb what was resent', async () => {
    const file = path.join(dir, 'crash.csv');
    await writeCustomers(file, 10_000);
    const plan = await planFor(file);
    const recv = fakeReceiver({ failAfterUnits: 7 });
    let checkpoint = 0;
    await expect(
      runImportPipeline({ rows: (await openTable(file)).rows, plan, sink: recv.sink, concurrency: 4, onCheckpoint: (row) => void (checkpoint = row) }),
    ).rejects.toThrow('connection reset');
    expect(checkpoint).toBeGreaterThan(1);
    const acked = recv.stored.size;
    const again = fakeReceiver();
    for (const id of recv.stored) again.stored.add(id);
    const r = await runImportPipeline({ rows: (await openTable(file)).rows, plan, sink: again.sink, resumeAfterRow: checkpoint });
    // Every valid row is stored exactly once in the end.
    expect(again.stored.size).toBe(9_990);
    expect(r.counts.accepted).toBe(9_990 - acked);
    // Only rows past the checkpoint were sent again.
    expect(r.counts.skipped).toBe(checkpoint - 1);
  });
});

/**
 * Writes an order export with one row per order line: order i has 1 to 4 lines; every 40th order
 * has a line with another buyer (rejected whole); order O-00100 has a line that comes back later.
 */
async function writeOrders(file: string, n: number): Promise<{ firstLines: number[]; secondLines: number[] }> {
  const out = createWriteStream(file);
  out.write('订单号,门店,手机号,姓名,实付金额,支付时间,SKU,数量,单价\n');
  const firstLines: number[] = [];
  const secondLines: number[] = [];
  let row = 1;
  for (let i = 0; i < n; i++) {
    const lines = (i % 4) + 1;
    const id = `O-${String(i).padStart(5, '0')}`;
    for (let l = 0; l < lines; l++) {
      row++;
      if (l === 0) firstLines.push(row);
      if (l === 1) secondLines.push(row);
      const phone = i % 40 === 39 && l === lines - 1 ? '13900000000' : `138${String(i).padStart(8, '0')}`;
      if (!out.write(`${id},store-1,${phone},客户${i},${lines * 10}.00,2026-11-01 10:00,SKU-${l},1,10.00\n`)) await once(out, 'drain');
    }
    if (i === 500) {
      row++;
      if (!out.write(`O-00100,store-1,13800000100,客户100,20.00,2026-11-01 10:00,SKU-late,1,10.00\n`)) await once(out, 'drain');
    }
  }
  out.end();
  await finished(out);
  return { firstLines, secondLines };
}

async function ordersPlan(file: string) {
  const t = await openTable(file);
  const mapping = compileImportMapping(
    'orders',
    { fields: { order_id: '订单号', shop_id: '门店', phone: '手机号', name: '姓名', total: '实付金额', paid_at: '支付时间', sku: 'SKU', quantity: '数量', price: '单价' } },
    t.columns,
  );
  t.close();
  return makePlan(mapping, await fileSha256(file));
}

/** A receiver that keeps the first message stored under each messageId, as the inbox does (ON CONFLICT DO NOTHING). */
function inbox(opts: { failAfterUnits?: number } = {}) {
  const stored = new Map<string, string>();
  const quarantined = new Map<number, string>();
  let sent = 0;
  let units = 0;
  const sink: ImportSink = {
    async send(unit: ImportUnit) {
      await new Promise((r) => setTimeout(r, 1));
      if (opts.failAfterUnits !== undefined && units >= opts.failAfterUnits) throw new Error('connection reset');
      units++;
      let accepted = 0;
      for (const m of unit.messages) {
        sent++;
        const id = String(m['messageId']);
        if (!stored.has(id)) {
          stored.set(id, JSON.stringify(m));
          accepted++;
        }
      }
      for (const r of unit.rejected) if (!quarantined.has(r.row)) quarantined.set(r.row, JSON.stringify(r));
      return { accepted, duplicates: unit.messages.length - accepted, quarantined: unit.rejected.length };
    },
  };
  return { sink, stored, quarantined, sent: () => sent };
}

/** The rows of a table; `beforeRow` runs before a row is given out (the test stops the import there). */
async function* rowsOf(file: string, beforeRow?: (row: number) => void): AsyncGenerator<TableRow> {
  const t = await openTable(file);
  try {
    for await (const r of t.rows) {
      beforeRow?.(r.row);
      yield r;
    }
  } finally {
    t.close();
  }
}

describe('import pipeline, orders of several lines', () => {
  const ORDERS = 2_000;
  let file = '';
  let firstLines: number[] = [];
  let secondLines: number[] = [];
  let reference: { stored: Map<string, string>; quarantined: Map<number, string>; counts: Record<string, number> } | null = null;

  beforeAll(async () => {
    file = path.join(dir, 'orders.csv');
    ({ firstLines, secondLines } = await writeOrders(file, ORDERS));
    const plan = await ordersPlan(file);
    const recv = inbox();
    const r = await runImportPipeline({ rows: rowsOf(file), scanRows: rowsOf(file), plan, sink: recv.sink, concurrency: 3, batchMessages: 200 });
    reference = { stored: recv.stored, quarantined: recv.quarantined, counts: { ...r.counts } };
  });

  it('imports each order once, with every line', () => {
    const tracks = [...(reference?.stored.values() ?? [])].map((m) => JSON.parse(m) as { type: string; properties: { order_id: string; total: string; products: unknown[] } }).filter((m) => m.type === 'track');
    // Every 40th order contradicts itself; O-00100 has a late line: both are rejected whole.
    expect(tracks).toHaveLength(ORDERS - ORDERS / 40 - 1);
    for (const t of tracks) expect(t.properties.products).toHaveLength((Number(t.properties.order_id.slice(2)) % 4) + 1);
    expect(reference?.counts).toMatchObject({ orders: ORDERS - ORDERS / 40 - 1, ordersRejected: ORDERS / 40 + 1, invalid: reference?.quarantined.size });
    expect(JSON.parse(reference?.quarantined.get(firstLines[100] ?? 0) ?? '{}')).toMatchObject({ problems: [{ message: expect.stringMatching(/^the lines of this order are not on consecutive rows/) }] });
  });

  it('resumes after Ctrl-C in the middle of an order exactly as an uninterrupted import', async () => {
    const plan = await ordersPlan(file);
    const recv = inbox();
    const abort = new AbortController();
    // Stopped while the second line of an order is being read: its first line is read, the order is not complete.
    const stopAt = secondLines.find((r) => r > 3_000) ?? 0;
    const first = await runImportPipeline({
      rows: rowsOf(file, (row) => row === stopAt && abort.abort()),
      scanRows: rowsOf(file),
      plan,
      sink: recv.sink,
      concurrency: 3,
      batchMessages: 200,
      signal: abort.signal,
    });
    expect(first.interrupted).toBe(true);
    // The checkpoint is the end of the last complete order: the one whose first line was read is not sent.
    expect(first.counts.lastRow).toBe(stopAt - 2);
    const second = await runImportPipeline({
      rows: rowsOf(file),
      scanRows: rowsOf(file),
      plan,
      sink: recv.sink,
      batchMessages: 200,
      resumeAfterRow: first.counts.lastRow,
      initial: first.counts,
    });
    expect(second.counts.skipped).toBe(first.counts.lastRow - 1);
    expect(recv.stored).toEqual(reference?.stored);
    expect(recv.quarantined).toEqual(reference?.quarantined);
    // Nothing was sent twice, and the counts add up to the uninterrupted run's.
    expect(recv.sent()).toBe(recv.stored.size);
    const pick = (c: Record<string, number> | undefined) => ({ valid: c?.['valid'], invalid: c?.['invalid'], orders: c?.['orders'], ordersRejected: c?.['ordersRejected'], messages: c?.['messages'], accepted: c?.['accepted'] });
    expect(pick({ ...second.counts })).toEqual(pick(reference?.counts));
  });

  it('after a crash, resumes from the checkpoint to exactly the result of an uninterrupted import', async () => {
    const plan = await ordersPlan(file);
    const recv = inbox({ failAfterUnits: 9 });
    let checkpoint = 0;
    await expect(
      runImportPipeline({ rows: rowsOf(file), scanRows: rowsOf(file), plan, sink: recv.sink, concurrency: 3, batchMessages: 200, onCheckpoint: (row) => void (checkpoint = row) }),
    ).rejects.toThrow('connection reset');
    expect(checkpoint).toBeGreaterThan(1);
    const again = inbox();
    for (const [k, v] of recv.stored) again.stored.set(k, v);
    for (const [k, v] of recv.quarantined) again.quarantined.set(k, v);
    await runImportPipeline({ rows: rowsOf(file), scanRows: rowsOf(file), plan, sink: again.sink, batchMessages: 200, resumeAfterRow: checkpoint });
    expect(again.stored).toEqual(reference?.stored);
    expect(again.quarantined).toEqual(reference?.quarantined);
  });
});
