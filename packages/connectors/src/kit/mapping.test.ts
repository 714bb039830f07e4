import { DatongError } from '@datong/core';
import { describe, expect, it } from 'vitest';
import { applyMapping, checkMapping, compileMapping, previewMapping } from './mapping.js';

// A Youzan-like order push, as a connector of issue 4 would map it.
const ORDER = {
  full_order_info: {
    buyer_info: { buyer_phone: '13812345678', fans_nickname: '小明' },
    address_info: { receiver_name: '王小明', delivery_province: '浙江省', delivery_city: '杭州市', delivery_address: '西湖区文三路 1 号' },
    order_info: { tid: 'E2024010112345678', created: '2024-01-01 12:00:00' },
    orders: [
      { title: '龙井茶 250g', num: 2, payment: '198.00' },
      { title: '茶具', num: 1, payment: '88.50' },
    ],
  },
};

describe('applyMapping', () => {
  it('maps Chinese values and builds nested targets from dotted fields', async () => {
    const m = compileMapping({
      userId: 'full_order_info.buyer_info.buyer_phone',
      'traits.name': 'full_order_info.address_info.receiver_name',
      'traits.address': `full_order_info.address_info.(delivery_province & delivery_city & delivery_address)`,
      'properties.order_id': 'full_order_info.order_info.tid',
      'properties.total': '$string($sum(full_order_info.orders.($number(payment))))',
      'properties.products': 'full_order_info.orders.{"name": title, "quantity": num}',
    });
    const { output, errors } = await applyMapping(m, ORDER);
    expect(errors).toEqual([]);
    expect(output).toEqual({
      userId: '13812345678',
      traits: { name: '王小明', address: '浙江省杭州市西湖区文三路 1 号' },
      properties: {
        order_id: 'E2024010112345678',
        total: '286.5',
        products: [
          { name: '龙井茶 250g', quantity: 2 },
          { name: '茶具', quantity: 1 },
        ],
      },
    });
  });

  it('leaves out a field whose expression matches nothing', async () => {
    const { output, errors } = await applyMapping(compileMapping({ email: 'buyer.email', name: '"固定"' }), { buyer: {} });
    expect(errors).toEqual([]);
    expect(output).toEqual({ name: '固定' });
  });

  it('keeps a one-item array when the field is the whole value, and [] keeps it through a path', async () => {
    // JSONata turns a one-item sequence into its item on a path step; `[]` keeps the array.
    const { output } = await applyMapping(compileMapping({ tags: '$.tags', titles: 'orders.title', kept: 'orders.title[]' }), {
      tags: ['vip'],
      orders: [{ title: '茶' }],
    });
    expect(output).toEqual({ tags: ['vip'], titles: '茶', kept: ['茶'] });
  });

  it('reports an evaluation error per field with its JSONata code and position, and maps the other fields', async () => {
    const { output, errors } = await applyMapping(compileMapping({ ok: 'a', sum: 'a + 1' }), { a: '一' });
    expect(output).toEqual({ ok: '一' });
    expect(errors).toEqual([{ field: 'sum', code: 'T2001', message: expect.stringContaining('must evaluate to a number'), position: 3, token: '+' }]);
  });

  it('stops non-terminating recursion (D1011) and an endless tail-recursive loop (D1012)', async () => {
    const m = compileMapping(
      {
        deep: '($f := function($n){ 1 + $f($n + 1) }; $f(0))',
        endless: '($f := function($n){ $f($n + 1) }; $f(0))',
        viaEval: '$eval("($g := function($n){ $g($n + 1) }; $g(0))")',
      },
      { timeoutMs: 50, maxDepth: 100, maxSequence: 1000, maxPad: 100 },
    );
    const { output, errors } = await applyMapping(m, {});
    expect(output).toEqual({});
    expect(errors.map((e) => [e.field, e.code])).toEqual([
      ['deep', 'D1011'],
      ['endless', 'D1012'],
      // $eval runs in the same guarded environment; JSONata wraps the inner error.
      ['viaEval', 'D3121'],
    ]);
  });

  it('refuses huge sequences and paddings', async () => {
    const m = compileMapping({ range: '[1..100000]', pad: '$pad("x", 1000000)', smallPad: '$pad("茶", -3, "#")' }, { timeoutMs: 100, maxDepth: 100, maxSequence: 1000, maxPad: 100 });
    const { output, errors } = await applyMapping(m, {});
    expect(output).toEqual({ smallPad: '##茶' });
    expect(errors.map((e) => [e.field, e.code])).toEqual([
      ['range', 'D2015'],
      ['pad', 'MAPPING_LIMIT'],
    ]);
  });

  it('refuses a result that JSON cannot hold (a function)', async () => {
    const { errors } = await applyMapping(compileMapping({ f: 'function($x){ $x }' }), {});
    expect(errors).toEqual([{ field: 'f', code: 'MAPPING_RESULT', message: 'the expression evaluates to a function; call it' }]);
  });
});

describe('compileMapping', () => {
  it('throws MAPPING_INVALID naming the field, with every problem in the errors extension', () => {
    let thrown: unknown;
    try {
      compileMapping({ ok: 'a', 'traits.城市': 'address.(', '': 'a', 'a..b': 'a', __proto__x: 'b' });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DatongError);
    const e = thrown as DatongError;
    expect(e.code).toBe('MAPPING_INVALID');
    expect(e.detail).toMatch(/^Field "traits\.城市": /);
    expect((e.extensions as { errors: unknown[] }).errors).toEqual([
      { field: 'traits.城市', code: 'S0203', message: expect.any(String), position: 9, token: '(end)' },
      { field: '', code: 'MAPPING_FIELD_INVALID', message: expect.any(String) },
      { field: 'a..b', code: 'MAPPING_FIELD_INVALID', message: expect.any(String) },
    ]);
  });

  it('refuses target fields that would write to a prototype or that clash', () => {
    const { errors } = checkMapping({ 'x.__proto__': 'a', 'x.constructor.y': 'a', traits: 'a', 'traits.city': 'b' });
    expect(errors.map((e) => [e.field, e.code])).toEqual([
      ['x.__proto__', 'MAPPING_FIELD_INVALID'],
      ['x.constructor.y', 'MAPPING_FIELD_INVALID'],
      ['traits.city', 'MAPPING_FIELD_CONFLICT'],
    ]);
  });

  it('refuses an empty expression', () => {
    expect(checkMapping({ a: '  ' }).errors).toEqual([{ field: 'a', code: 'MAPPING_EXPRESSION_EMPTY', message: 'the expression is empty' }]);
  });
});

describe('previewMapping', () => {
  it('answers the output with compile and evaluation errors in the mapping order', async () => {
    const r = await previewMapping({ a: 'x + 1', b: 'x.(', c: '"客户-" & name' }, { x: 'no', name: '李雷' });
    expect(r.output).toEqual({ c: '客户-李雷' });
    expect(r.errors.map((e) => [e.field, e.code])).toEqual([
      ['a', 'T2001'],
      ['b', 'S0203'],
    ]);
  });
});
