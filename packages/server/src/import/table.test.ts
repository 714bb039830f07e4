import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, describe, expect, it } from 'vitest';
import { detectEncoding } from './encoding.js';
import { columnNames, detectFormat, guessDelimiter, openTable } from './table.js';
import type { TableRow } from './types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'datong-import-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(rows: AsyncIterable<TableRow>): Promise<TableRow[]> {
  const out: TableRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
}

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('CSV reader', () => {
  it('reads UTF-8 with a BOM without the BOM reaching the first column name', async () => {
    const p = file('bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('手机号,姓名\r\n13812345678,李雷\r\n')]));
    const t = await openTable(p);
    expect(t.format).toBe('csv');
    expect(t.encoding).toEqual({ encoding: 'utf8', how: 'bom' });
    expect(t.columns).toEqual(['手机号', '姓名']);
    expect(await all(t.rows)).toEqual([{ row: 2, values: { 手机号: '13812345678', 姓名: '李雷' } }]);
  });

  it('detects a GBK export from a Chinese POS (not valid UTF-8) and decodes it as GB18030', async () => {
    // What Excel on a Chinese Windows writes for "CSV": GBK, no BOM.
    const p = file('gbk.csv', iconv.encode('会员卡号,姓名,城市\n0001,王小明,北京\n0002,张伟,上海\n', 'gbk'));
    const t = await openTable(p);
    expect(t.encoding).toEqual({ encoding: 'gb18030', how: 'not-utf8' });
    expect(t.columns).toEqual(['会员卡号', '姓名', '城市']);
    const rows = await all(t.rows);
    expect(rows.map((r) => r.values['姓名'])).toEqual(['王小明', '张伟']);
    expect(rows[0]?.values['会员卡号']).toBe('0001');
  });

  it('uses the encoding it is given', async () => {
    const p = file('given.csv', iconv.encode('姓名\n李雷\n', 'gbk'));
    const t = await openTable(p, { encoding: 'gbk' });
    expect(t.encoding).toEqual({ encoding: 'gb18030', how: 'given' });
    expect((await all(t.rows))[0]?.values['姓名']).toBe('李雷');
  });

  it('keeps a quoted field with newlines, commas and quotes in one row and numbers rows as records', async () => {
    const p = file('quoted.csv', 'name,address,note\n"Li Lei","Line 1\nLine 2, Haidian","said ""hi"""\nHan,Shanghai,\n');
    const t = await openTable(p);
    const rows = await all(t.rows);
    expect(rows).toEqual([
      { row: 2, values: { name: 'Li Lei', address: 'Line 1\nLine 2, Haidian', note: 'said "hi"' } },
      { row: 3, values: { name: 'Han', address: 'Shanghai', note: '' } },
    ]);
  });

  it('guesses a tab or semicolon delimiter from the header and pads short rows', async () => {
    const p = file('tab.csv', 'phone\tname\tcity\n13812345678\tLi\n');
    const t = await openTable(p);
    expect(t.delimiter).toBe('\t');
    expect((await all(t.rows))[0]?.values).toEqual({ phone: '13812345678', name: 'Li', city: null });
    expect(guessDelimiter('a;b;"c;d"')).toBe(';');
  });

  it('marks cells beyond the header so that the row can be rejected rather than cut', async () => {
    const p = file('extra.csv', 'phone,name\n13812345678,Li,Lei\n');
    const rows = await all((await openTable(p)).rows);
    expect(rows[0]).toEqual({ row: 2, values: { phone: '13812345678', name: 'Li', column_3: 'Lei' }, extraCells: 1 });
  });

  it('names blank and repeated headers', () => {
    expect(columnNames(['a', '', 'a', ' b '])).toEqual(['a', 'column_2', 'a_2', 'b']);
  });

  it('fails with IMPORT_FILE_INVALID and the line on an unclosed quote', async () => {
    const p = file('broken.csv', 'a,b\n1,"unclosed\n');
    const t = await openTable(p);
    await expect(all(t.rows)).rejects.toMatchObject({ code: 'IMPORT_FILE_INVALID' });
  });

  it('takes valid UTF-8 without a BOM as UTF-8', () => {
    expect(detectEncoding(Buffer.from('姓名,手机\n'))).toEqual({ encoding: 'utf8', how: 'valid-utf8' });
    // A sample cut inside a multi-byte character is still UTF-8.
    expect(detectEncoding(Buffer.from('姓名').subarray(0, 4))).toEqual({ encoding: 'utf8', how: 'valid-utf8' });
  });
});

describe('XLSX reader', () => {
  it('streams the first sheet with numbers, dates, rich text and formula results', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('订单');
    ws.addRow(['订单号', '手机号', '实付金额', '支付时间', '备注']);
    ws.addRow(['A-1', 13812345678, 199.9, new Date(Date.UTC(2026, 10, 1, 10, 0, 0)), { richText: [{ text: '老' }, { text: '客户' }] }]);
    ws.addRow(['A-2', '13912345678', { formula: '100+20.5', result: 120.5 }, 46327.5, null]);
    ws.getCell('D2').numFmt = 'yyyy/mm/dd hh:mm';
    wb.addWorksheet('other').addRow(['x']);
    const p = path.join(dir, 'orders.xlsx');
    await wb.xlsx.writeFile(p);

    expect(await detectFormat(p)).toBe('xlsx');
    const t = await openTable(p);
    expect(t.format).toBe('xlsx');
    expect(t.columns).toEqual(['订单号', '手机号', '实付金额', '支付时间', '备注']);
    const rows = await all(t.rows);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      row: 2,
      values: { 订单号: 'A-1', 手机号: 13812345678, 实付金额: 199.9, 支付时间: new Date(Date.UTC(2026, 10, 1, 10, 0, 0)), 备注: '老客户' },
    });
    // A date typed as a bare serial number (no date format) stays a number: the mapping reads it as a date.
    expect(rows[1]?.values).toEqual({ 订单号: 'A-2', 手机号: '13912345678', 实付金额: 120.5, 支付时间: 46327.5, 备注: null });
    expect(t.bytesRead()).toBeGreaterThan(0);
  });

  it('reads a named sheet and a header below blank rows', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('封面').addRow(['报表']);
    const ws = wb.addWorksheet('会员');
    ws.getCell('A3').value = '姓名';
    ws.getCell('B3').value = '手机';
    ws.getCell('A4').value = '李雷';
    ws.getCell('B4').value = '13812345678';
    const p = path.join(dir, 'members.xlsx');
    await wb.xlsx.writeFile(p);
    const t = await openTable(p, { sheet: 2 });
    expect(t.headerRow).toBe(3);
    expect(t.columns).toEqual(['姓名', '手机']);
    expect(await all(t.rows)).toEqual([{ row: 4, values: { 姓名: '李雷', 手机: '13812345678' } }]);
  });

  it('refuses an old .xls file with a clear message', async () => {
    const p = file('old.xls', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));
    await expect(detectFormat(p)).rejects.toMatchObject({ code: 'IMPORT_FILE_INVALID', detail: expect.stringContaining('.xls') });
  });
});
