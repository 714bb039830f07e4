import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createSource, DEFAULT_TENANT_ID, loadConfig, startDatong, type Datong } from '@datong/server';
import { Capture, cli, makeTempDir, removeDir, testEnv } from '../test-support/cli-harness.js';
import { checkpointPath, runTableImport } from './import-table.js';

/** A stand-in for /v1/batch and /v1/imports/{id}/rows that keeps messages by messageId, as the inbox does. */
function fakeDatong(onBatch?: (n: number) => void) {
  const stored = new Set<string>();
  const received: string[] = [];
  const rejected: number[] = [];
  let requests = 0;
  let batches = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = JSON.parse(body) as { batch?: { messageId: string }[]; rows?: { row: number }[] };
      if (req.url === '/v1/batch') {
        let accepted = 0;
        for (const m of json.batch ?? []) {
          received.push(m.messageId);
          if (!stored.has(m.messageId)) {
            stored.add(m.messageId);
            accepted++;
          }
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ success: true, accepted, duplicates: (json.batch?.length ?? 0) - accepted }));
        onBatch?.(++batches);
        return;
      }
      for (const r of json.rows ?? []) rejected.push(r.row);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ quarantined: json.rows?.length ?? 0, duplicates: 0 }));
    });
  });
  return {
    stored,
    received,
    rejected,
    requests: () => requests,
    async start(): Promise<string> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function customersCsv(n: number, badEvery = 0): string {
  const lines = ['手机号,姓名,会员等级'];
  for (let i = 0; i < n; i++) lines.push(`${badEvery > 0 && i % badEvery === badEvery - 1 ? '999' : `136${String(i).padStart(8, '0')}`},客户${i},金卡`);
  return `${lines.join('\n')}\n`;
}

describe('datong import <csv|xlsx>', () => {
  let dir = '';
  let env: Record<string, string> = {};

  beforeAll(() => {
    dir = makeTempDir();
    env = testEnv(dir);
  });
  afterAll(() => removeDir(dir));

  describe('against a running server', () => {
    let datong: Datong;
    let url = '';
    let writeKey = '';
    let sourceId = '';

    beforeAll(async () => {
      datong = await startDatong({ config: loadConfig(testEnv(path.join(dir, 'server'))).config, logger: createLogger('silent'), workers: false });
      url = await datong.app.listen({ host: '127.0.0.1', port: 0 });
      const s = await createSource(datong.db, datong.deps, DEFAULT_TENANT_ID, 'POS', 'pos', new Date());
      writeKey = s.writeKey;
      sourceId = s.id;
    });
    afterAll(async () => {
      await datong.close();
    });

    it('imports a GBK member export, quarantines the invalid rows with their row numbers and prints the report', async () => {
      const file = path.join(dir, '会员.csv');
      writeFileSync(file, iconv.encode(customersCsv(1_200, 400), 'gbk'));
      const r = await cli(env, ['import', file, '--type', 'customers', '--url', url, '--write-key', writeKey]);
      expect(r.stderr).not.toContain('datong:');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Imported ${file} (customers) into ${url}, import imp_`);
      expect(r.stdout).toMatch(/^ {2}rows read\s+1200$/m);
      expect(r.stdout).toMatch(/^ {2}sent\s+1197 {2}Segment messages$/m);
      expect(r.stdout).toMatch(/^ {2}accepted\s+1197 {2}stored in the inbox$/m);
      expect(r.stdout).toMatch(/^ {2}invalid\s+3 {2}quarantined with row number and reasons: 3 new/m);
      expect(r.stdout).toMatch(/^ {2}peak RSS\s+\d+\.\d MB$/m);
      // stderr is not a TTY: progress comes as lines with rows/s.
      expect(r.stderr).toMatch(/^import 会员\.csv: 100% \(.+ of .+, \d+ rows, \d+ rows\/s\)$/m);

      const q = await datong.db.query<{ reason: string; source_id: string }>("SELECT reason, source_id FROM quarantine WHERE reason LIKE 'row %' ORDER BY reason");
      expect(q.rows).toEqual([
        { reason: 'row 1201: phone is not a valid phone number', source_id: sourceId },
        { reason: 'row 401: phone is not a valid phone number', source_id: sourceId },
        { reason: 'row 801: phone is not a valid phone number', source_id: sourceId },
      ]);
      const inbox = await datong.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE source_id = $1', [sourceId]);
      expect(inbox.rows[0]?.n).toBe(1_197);
      expect(JSON.parse(readFileSync(checkpointPath(file), 'utf8'))).toMatchObject({ done: true, lastRow: 1_201, counts: { valid: 1_197, invalid: 3 } });

      // The same file again: every messageId is known, nothing new is stored or quarantined.
      const again = await cli(env, ['import', file, '--type', 'customers', '--url', url, '--write-key', writeKey, '--json']);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ rowsRead: 1_200, sent: 1_197, accepted: 0, duplicates: 1_197, invalid: 3, quarantined: 0 });
    });

    it('fails clearly with a wrong write key', async () => {
      const file = path.join(dir, 'few.csv');
      writeFileSync(file, customersCsv(3));
      const r = await cli(env, ['import', file, '--type', 'customers', '--url', url, '--write-key', 'wk_wrong']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[AUTH_WRITE_KEY_INVALID]');
      expect(r.stderr).toContain('run again with --resume');
    });
  });

  it('dry run prints the mapping, the first 20 rows and every error, and sends nothing', async () => {
    const fake = fakeDatong();
    const url = await fake.start();
    try {
      const file = path.join(dir, 'dry.csv');
      writeFileSync(file, customersCsv(100, 30));
      const r = await cli(env, ['import', file, '--type', 'customers', '--dry-run', '--url', url, '--write-key', 'wk_x']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('nothing is sent');
      expect(r.stdout).toContain('encoding utf8 (valid-utf8), delimiter ","');
      expect(r.stdout).toContain('"phone": "手机号"');
      expect(r.stdout).toContain('"traits.level": "会员等级"');
      expect(r.stdout).toContain('First 20 row(s) as they would be sent:');
      expect(r.stdout).toMatch(/^row 2: \{"type":"identify","messageId":"imp-[0-9a-f]{24}-2-c","traits":\{"phone":"\+8613600000000","name":"客户0","level":"金卡"\}/m);
      expect(r.stdout).toContain('Errors (3 row(s)):\nrow 31: phone is not a valid phone number\nrow 61: phone is not a valid phone number\nrow 91: phone is not a valid phone number');
      expect(r.stdout).toContain('Checked all 100 rows: 97 valid → 97 messages, 3 invalid (would be quarantined), 0 blank.');
      expect(fake.requests()).toBe(0);
      expect(existsSync(checkpointPath(file))).toBe(false);
    } finally {
      await fake.close();
    }
  });

  it('resumes after Ctrl-C from the checkpoint without sending any row twice', async () => {
    const stop = new AbortController();
    const fake = fakeDatong((n) => n === 3 && stop.abort());
    const url = await fake.start();
    try {
      const file = path.join(dir, 'resume.csv');
      writeFileSync(file, customersCsv(10_000, 1_000));
      const io = { stdout: new Capture(), stderr: new Capture(), env };
      const first = await runTableImport(io, file, { type: 'customers', url, writeKey: 'wk_x', concurrency: '2', signal: stop.signal });
      expect(first.interrupted).toBe(true);
      expect(io.stdout.text).toContain('Run the same command with --resume to continue.');
      const cp = JSON.parse(readFileSync(checkpointPath(file), 'utf8')) as { lastRow: number; done: boolean };
      expect(cp).toMatchObject({ done: false, lastRow: first.lastRow });
      expect(fake.received.length).toBe(first.sent);

      const r = await cli(env, ['import', file, '--type', 'customers', '--url', url, '--write-key', 'wk_x', '--resume', '--json']);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Record<string, number>;
      expect(report).toMatchObject({ skipped: cp.lastRow - 1, valid: 9_990, invalid: 10, sent: 9_990, accepted: 9_990, duplicates: 0 });
      // Every valid row arrived exactly once over the two runs; the rejected rows too.
      expect(fake.stored.size).toBe(9_990);
      expect(fake.received.length).toBe(9_990);
      expect(fake.rejected.sort((a, b) => a - b)).toEqual([1001, 2001, 3001, 4001, 5001, 6001, 7001, 8001, 9001, 10001]);
    } finally {
      await fake.close();
    }
  });

  it('refuses to resume when the file changed', async () => {
    const file = path.join(dir, 'changed.csv');
    writeFileSync(file, customersCsv(5));
    writeFileSync(checkpointPath(file), JSON.stringify({ version: 1, sha256: 'f'.repeat(64), lastRow: 3, type: 'customers', mappingFingerprint: 'x', counts: {}, done: false }));
    const r = await cli(env, ['import', file, '--type', 'customers', '--url', 'http://127.0.0.1:9', '--write-key', 'wk_x', '--resume']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('changed since the interrupted import');
  });

  it('imports an XLSX order sheet with a mapping file and a JSONata transform', async () => {
    const fake = fakeDatong();
    const url = await fake.start();
    try {
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('销售');
      ws.addRow(['小票号', '会员卡号', '金额(分)', '销售时间']);
      ws.addRow(['R-1', 'C001', 12990, new Date(Date.UTC(2026, 10, 1, 10, 0))]);
      ws.addRow(['R-2', 'C002', 500, new Date(Date.UTC(2026, 10, 1, 11, 0))]);
      ws.getColumn(4).numFmt = 'yyyy-mm-dd hh:mm';
      const file = path.join(dir, 'sales.xlsx');
      await wb.xlsx.writeFile(file);
      const mappingFile = path.join(dir, 'sales.mapping.json');
      writeFileSync(
        mappingFile,
        JSON.stringify({ fields: { order_id: '小票号', crm_id: '会员卡号', total: { expr: '$string(`金额(分)` / 100)' }, paid_at: '销售时间', shop_id: { value: '南京西路店' } }, collections: { crm_id: 'pos' } }),
      );
      const r = await cli(env, ['import', file, '--type', 'orders', '--mapping', mappingFile, '--url', url, '--write-key', 'wk_x', '--json']);
      expect(r.stderr).not.toContain('datong:');
      expect(JSON.parse(r.stdout)).toMatchObject({ rowsRead: 2, valid: 2, sent: 2, accepted: 2 });
      expect(fake.received).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });

  it('imports an order export with one row per line as orders, and counts orders and lines in the dry run and the report', async () => {
    const fake = fakeDatong();
    const url = await fake.start();
    try {
      const file = path.join(dir, 'lines.csv');
      writeFileSync(
        file,
        [
          '订单号,手机号,实付金额,商品名称,数量',
          'A-1,13800000001,30.00,咖啡,1',
          'A-1,13800000001,30.00,蛋糕,2',
          'A-1,13800000001,30.00,茶,1',
          // Another buyer on a line of A-2: the whole order is quarantined.
          'A-2,13800000002,5.00,水,1',
          'A-2,13800000003,5.00,水,1',
        ].join('\n'),
      );
      const dry = await cli(env, ['import', file, '--type', 'orders', '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(/^rows 2-4 \(3 lines\): \{"type":"track","messageId":"order-[0-9a-f]{32}","event":"Order Completed","properties":\{"order_id":"A-1","total":"30.00",.*"products":\[\{"name":"咖啡","quantity":1\},\{"name":"蛋糕","quantity":2\},\{"name":"茶","quantity":1\}\]/m);
      expect(dry.stdout).toContain("row 6: INVALID: phone differs from the buyer's phone on row 5 of the same order");
      expect(dry.stdout).toContain('Checked all 5 rows: 3 valid line(s) → 1 order(s) → 1 messages, 2 invalid (would be quarantined; 1 order(s) rejected whole), 0 blank.');

      const r = await cli(env, ['import', file, '--type', 'orders', '--url', url, '--write-key', 'wk_x', '--json']);
      expect(r.stderr).not.toContain('datong:');
      expect(JSON.parse(r.stdout)).toMatchObject({ rowsRead: 5, valid: 3, invalid: 2, orders: 1, ordersRejected: 1, sent: 1, accepted: 1 });
      expect(fake.received).toHaveLength(1);
      expect(fake.rejected).toEqual([5, 6]);
      const again = await cli(env, ['import', file, '--type', 'orders', '--url', url, '--write-key', 'wk_x']);
      expect(again.stdout).toMatch(/^ {2}valid\s+3 {2}order lines; totals over every run of this file$/m);
      expect(again.stdout).toMatch(/^ {2}orders\s+1 {2}made of the valid lines; 1 more rejected whole \(every line is invalid\)$/m);
    } finally {
      await fake.close();
    }
  });

  it('still needs --source for a JSONL file', async () => {
    const file = path.join(dir, 'm.jsonl');
    writeFileSync(file, '{}\n');
    const r = await cli(env, ['import', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--source is required for a JSONL import');
  });
});
