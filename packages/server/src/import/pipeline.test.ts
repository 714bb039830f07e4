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
