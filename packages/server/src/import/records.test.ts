import { describe, expect, it } from 'vitest';
import { guessMapping, normalizeHeader } from './fields.js';
import { compileImportMapping, parseMappingSpec, type ImportMappingSpec } from './mapping.js';
import { buildRow, makePlan } from './records.js';
import type { Cell, ImportType } from './types.js';
import { parseDateCell, parseMoney, parseStatus } from './values.js';

const HASH = 'a'.repeat(64);

function plan(type: ImportType, spec: ImportMappingSpec, columns: string[]) {
  return makePlan(compileImportMapping(type, spec, columns), HASH, 'imp_test');
}

async function build(type: ImportType, spec: ImportMappingSpec, values: Record<string, Cell>, row = 2) {
  return buildRow(plan(type, spec, Object.keys(values)), { row, values });
}

describe('header guessing', () => {
  it('maps the headers of a Chinese POS member export', () => {
    expect(guessMapping('customers', ['会员卡号', '姓名', '手机号码(必填)', '性别', '生日', '会员等级', '积分', '注册时间', '备注'])).toEqual({
      crm_id: '会员卡号',
      name: '姓名',
      phone: '手机号码(必填)',
      'traits.gender': '性别',
      'traits.birthday': '生日',
      'traits.level': '会员等级',
      'traits.points': '积分',
      created_at: '注册时间',
    });
  });

  it('maps an order export and prefers 实付金额 over 金额', () => {
    expect(guessMapping('orders', ['订单号', '门店', '金额', '实付金额', '支付时间', '订单状态', '买家手机号', '商品名称', '数量', '单价'])).toEqual({
      order_id: '订单号',
      shop_id: '门店',
      total: '实付金额',
      paid_at: '支付时间',
      status: '订单状态',
      phone: '买家手机号',
      product_name: '商品名称',
      quantity: '数量',
      price: '单价',
    });
  });

  it('maps English headers regardless of case, spaces and underscores', () => {
    expect(guessMapping('customers', ['E-mail', 'Full Name', 'Mobile Phone', 'Customer ID', 'City'])).toEqual({
      email: 'E-mail',
      name: 'Full Name',
      phone: 'Mobile Phone',
      user_id: 'Customer ID',
      'traits.city': 'City',
    });
    expect(normalizeHeader(' Order_No ')).toBe('orderno');
  });

  it('does not propose order fields for a customer import', () => {
    expect(guessMapping('customers', ['订单号', '手机'])).toEqual({ phone: '手机' });
  });
});

describe('mapping', () => {
  it('lists every problem of a mapping at once', () => {
    const spec = { fields: { phone: '电话', orderz: '单号', crm_id: '卡号', total: { expr: '$number(' } } };
    let err: unknown;
    try {
      compileImportMapping('orders', spec, ['电话', '卡号']);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'MAPPING_INVALID' });
    const problems = (err as { extensions: { fieldErrors: { field: string; message: string }[] } }).extensions.fieldErrors;
    expect(problems.map((p) => p.field)).toEqual(['orderz', 'total', 'order_id', 'crm_id']);
    expect(problems[1]?.message).toMatch(/^JSONata: /);
  });

  it('refuses a column the file does not have', () => {
    expect(() => compileImportMapping('customers', { fields: { phone: '手机' } }, ['电话'])).toThrow(/no column "手机"/);
  });

  it('checks the shape of a mapping file', () => {
    expect(parseMappingSpec({ fields: { phone: 3 }, sheet: 0, colour: 'red' }).problems.map((p) => p.field)).toEqual(['phone', 'sheet', 'colour']);
    expect(parseMappingSpec({ fields: { phone: '手机' }, timezone: '+08:00' }).spec).not.toBeNull();
  });

  it('changes the fingerprint, and so every messageId, when the mapping changes', () => {
    const a = compileImportMapping('customers', { fields: { phone: 'p' } }, ['p', 'n']);
    const b = compileImportMapping('customers', { fields: { phone: 'p', name: 'n' } }, ['p', 'n']);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(makePlan(a, HASH).key).not.toBe(makePlan(b, HASH).key);
    expect(a.unmappedColumns).toEqual(['n']);
  });
});

describe('rows to messages', () => {
  it('turns a customer row into an identify with normalized identifiers and a deterministic messageId', async () => {
    const spec: ImportMappingSpec = { fields: { phone: '手机号', name: '姓名', crm_id: '卡号', 'traits.level': '等级', created_at: '注册时间' }, collections: { crm_id: 'pos' } };
    const r = await build('customers', spec, { 手机号: '138 1234 5678', 姓名: ' 李雷 ', 卡号: 1001, 等级: '金卡', 注册时间: '2026/11/01 10:00' }, 7);
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    const key = makePlan(compileImportMapping('customers', spec, ['手机号', '姓名', '卡号', '等级', '注册时间']), HASH).key;
    expect(r.messages).toEqual([
      {
        type: 'identify',
        messageId: `imp-${key}-7-c`,
        traits: { phone: '+8613812345678', name: '李雷', level: '金卡', createdAt: '2026-11-01T02:00:00.000Z' },
        context: {
          import: { id: 'imp_test', row: 7 },
          externalIds: [
            { id: '+8613812345678', type: 'phone', encoding: 'none' },
            { id: '1001', type: 'crm_id', collection: 'pos', encoding: 'none' },
          ],
        },
        timestamp: '2026-11-01T02:00:00.000Z',
      },
    ]);
  });

  it('applies a JSONata transform per field', async () => {
    // A POS that exports amounts in fen and phones with a country prefix in another column.
    const spec: ImportMappingSpec = {
      fields: {
        order_id: '单号',
        phone: { expr: '区号 & 手机' },
        total: { expr: '$string($number(`金额(分)`) / 100)' },
        status: { value: '已完成' },
        shop_id: { value: 'store-01' },
      },
    };
    const r = await build('orders', spec, { 单号: 'S-1', 区号: '+86', 手机: '13812345678', '金额(分)': '12990' });
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      messageId: expect.stringMatching(/^order-[0-9a-f]{32}$/),
      properties: { order_id: 'S-1', total: '129.90', currency: 'CNY', status: 'completed', platform: 'offline', shop_id: 'store-01' },
      context: { externalIds: [{ id: '+8613812345678', type: 'phone', encoding: 'none' }] },
    });
  });

  it('sends the buyer identify before the order track when the row has a name, with products and an Excel serial date', async () => {
    const spec: ImportMappingSpec = {
      fields: { order_id: '订单号', phone: '手机', name: '姓名', total: '实付金额', paid_at: '支付时间', sku: 'SKU', quantity: '数量', price: '单价', status: '状态' },
    };
    const r = await build('orders', spec, { 订单号: 'A-9', 手机: 13812345678, 姓名: '韩梅梅', 实付金额: '1,299.00', 支付时间: 46327.5, SKU: 'X1', 数量: 2, 单价: '¥649.50', 状态: '已取消' });
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.messages.map((m) => [m['type'], m['event']])).toEqual([['identify', undefined], ['track', 'Order Cancelled']]);
    // 46327.5 is 2026-11-01 12:00 on the sheet, at +08:00.
    expect(r.messages[1]).toMatchObject({
      timestamp: '2026-11-01T04:00:00.000Z',
      properties: { total: '1299.00', status: 'cancelled', paid_at: '2026-11-01T04:00:00.000Z', products: [{ sku: 'X1', quantity: 2, price: '649.50' }] },
    });
  });

  it('keys an order event by the order, so the same order in two files is one event', async () => {
    const spec: ImportMappingSpec = { fields: { order_id: 'o', phone: 'p', total: 't' } };
    const a = await buildRow(makePlan(compileImportMapping('orders', spec, ['o', 'p', 't']), 'b'.repeat(64)), { row: 2, values: { o: 'X', p: '13812345678', t: '1' } });
    const b = await buildRow(makePlan(compileImportMapping('orders', spec, ['o', 'p', 't']), 'c'.repeat(64)), { row: 90, values: { o: 'X', p: '13812345678', t: '1' } });
    expect(a.kind === 'ok' && b.kind === 'ok' && a.messages[0]?.['messageId'] === b.messages[0]?.['messageId']).toBe(true);
  });

  it('rejects a row with every reason, the cells as read and the message it would have been', async () => {
    const spec: ImportMappingSpec = { fields: { order_id: '订单号', phone: '手机', email: '邮箱', total: '金额', paid_at: '时间', status: '状态' } };
    const r = await build('orders', spec, { 订单号: 'B-1', 手机: '12345', 邮箱: 'not-an-email', 金额: '12.345', 时间: '2026-02-30 10:00', 状态: '发疯' }, 41);
    expect(r.kind).toBe('rejected');
    if (r.kind !== 'rejected') return;
    expect(r.rejected.row).toBe(41);
    expect(r.rejected.problems.map((p) => p.field)).toEqual(['phone', 'email', 'status', 'total', 'paid_at']);
    expect(r.rejected.problems[0]?.message).toBe('phone is not a valid phone number');
    expect(r.rejected.data).toEqual({ 订单号: 'B-1', 手机: '12345', 邮箱: 'not-an-email', 金额: '12.345', 时间: '2026-02-30 10:00', 状态: '发疯' });
    expect(r.rejected.message).toMatchObject({ type: 'track', properties: { order_id: 'B-1', total: '12.345' } });
    expect(r.rejected.messageId).toMatch(/^order-/);
  });

  it('rejects a customer row without any identifier and a row with extra cells', async () => {
    const spec: ImportMappingSpec = { fields: { phone: '手机', name: '姓名' } };
    const r = await build('customers', spec, { 手机: '', 姓名: '无名' });
    expect(r.kind === 'rejected' && r.rejected.problems[0]?.message).toMatch(/no identifier/);
    const p = plan('customers', spec, ['手机', '姓名']);
    const x = await buildRow(p, { row: 3, values: { 手机: '13812345678', 姓名: 'a', column_3: 'b' }, extraCells: 1 });
    expect(x.kind === 'rejected' && x.rejected.problems[0]?.message).toMatch(/more cell/);
  });

  it('refuses an id that a spreadsheet has already rounded', async () => {
    // A 19-digit order id typed into a number cell: Excel keeps 15 significant digits.
    const r = await build('orders', { fields: { order_id: 'o', phone: 'p', total: 't' } }, { o: 2 ** 60, p: '13812345678', t: 1 });
    expect(r.kind === 'rejected' && r.rejected.problems[0]?.message).toMatch(/too long for a spreadsheet/);
  });

  it('skips a blank row', async () => {
    expect((await build('customers', { fields: { phone: 'p' } }, { p: '  ' })).kind).toBe('blank');
  });
});

describe('values', () => {
  it('reads the date forms of POS exports at the import time zone', () => {
    const at = (c: Cell, off = 480) => {
      const r = parseDateCell(c, off);
      return r.ok ? r.value?.toISOString() : r.reason;
    };
    expect(at('2026/11/01 10:00')).toBe('2026-11-01T02:00:00.000Z');
    expect(at('2026-11-1 10:00:05')).toBe('2026-11-01T02:00:05.000Z');
    expect(at('2026年11月1日 10:00')).toBe('2026-11-01T02:00:00.000Z');
    expect(at('20261101')).toBe('2026-10-31T16:00:00.000Z');
    expect(at('2026-11-01T10:00:00+09:00')).toBe('2026-11-01T01:00:00.000Z');
    expect(at('2026-11-01 10:00', 0)).toBe('2026-11-01T10:00:00.000Z');
    expect(at(46327)).toBe('2026-10-31T16:00:00.000Z');
    expect(at('1793498400')).toBe('2026-11-01T02:00:00.000Z');
    expect(at(new Date(Date.UTC(2026, 10, 1, 10)))).toBe('2026-11-01T02:00:00.000Z');
    expect(at('2026-13-01')).toBe('is not a valid date');
    expect(at('next week')).toMatch(/^is not a date/);
  });

  it('reads amounts exactly', () => {
    const m = (c: Cell, cur = 'CNY') => {
      const r = parseMoney(c, cur);
      return r.ok ? r.value : r.reason;
    };
    expect(m('1,299.5')).toBe('1299.50');
    expect(m('￥88')).toBe('88.00');
    expect(m('100元')).toBe('100.00');
    expect(m(19.99)).toBe('19.99');
    expect(m(0.1 + 0.2)).toMatch(/not an exact amount/);
    expect(m('-5')).toBe('is negative');
    expect(m('1000', 'JPY')).toBe('1000');
  });

  it('reads status words and the mapping’s own', () => {
    expect(parseStatus('交易成功')).toEqual({ ok: true, value: 'completed' });
    expect(parseStatus('Canceled')).toEqual({ ok: true, value: 'cancelled' });
    expect(parseStatus('挂单', { 挂单: 'created' })).toEqual({ ok: true, value: 'created' });
  });
});
