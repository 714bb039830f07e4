import { describe, expect, it } from 'vitest';
import { maskEmail, maskIdentityValue, maskName, maskPhone, maskText, maskTraits, spreadsheetSafe } from './mask.js';
import { BUILTIN_ROLES, customerInScope, PERMISSIONS } from './permissions.js';

describe('maskPhone', () => {
  it('masks every format of one mainland mobile number alike', () => {
    // The console shows ops staff `138****5678` whatever format the number arrived in (issue 3).
    for (const v of ['13812345678', '138 1234 5678', '+86 138-1234-5678', '+8613812345678', '008613812345678', '8613812345678']) {
      expect(maskPhone(v)).toBe('138****5678');
    }
  });
  it('keeps a plus, three digits and the last four of other long numbers', () => {
    expect(maskPhone('+1 415 555 0123')).toBe('+141****0123');
    expect(maskPhone('021-6234-5678')).toBe('021****5678');
  });
  it('reveals at most two digits of short numbers and nothing of very short ones', () => {
    expect(maskPhone('123456')).toBe('****56');
    expect(maskPhone('1234')).toBe('****');
    expect(maskPhone('')).toBe('****');
  });
});

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('zhang@example.com')).toBe('z***@example.com');
    expect(maskEmail('a@b.cn')).toBe('a***@b.cn');
    expect(maskEmail('张三@例子.中国')).toBe('张***@例子.中国');
  });
  it('masks a value that is not an email completely', () => {
    expect(maskEmail('no-at-sign')).toBe('***');
    expect(maskEmail('@example.com')).toBe('***');
  });
});

describe('maskName', () => {
  it('keeps the surname of a Chinese name and masks each other character', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('李小龙')).toBe('李**');
    expect(maskName('欧阳娜娜')).toBe('欧***');
  });
  it('counts characters, not UTF-16 units (a name with a supplementary-plane character)', () => {
    expect(maskName('𠀋一')).toBe('𠀋*');
  });
  it('masks a one-character name completely and keeps spaces of Latin names', () => {
    expect(maskName('张')).toBe('*');
    expect(maskName(' ')).toBe('*');
    expect(maskName('Li Lei')).toBe('L* ***');
  });
});

describe('maskTraits', () => {
  it('masks personal traits, nested ones too, and keeps the rest', () => {
    const out = maskTraits({
      name: '王小明',
      phone: '13812345678',
      email: 'wang@example.com',
      tier: 'gold',
      age: 30,
      address: { street: '南京西路1266号', city: '上海' },
      mobile: 13900001111,
      nickname: null,
    });
    expect(out).toEqual({
      name: '王**',
      phone: '138****5678',
      email: 'w***@example.com',
      tier: 'gold',
      age: 30,
      address: '***',
      mobile: '139****1111',
      nickname: null,
    });
    expect(maskTraits({ traits: { phone: '13812345678' } })).toEqual({ traits: { phone: '138****5678' } });
  });
  it('masks free text such as an address down to three characters', () => {
    expect(maskText('上海市静安区南京西路1266号')).toBe('上海市***');
    expect(maskText('短地址')).toBe('***');
  });
  it('masks identity values of personal types only', () => {
    expect(maskIdentityValue('phone', '+8613812345678')).toBe('138****5678');
    expect(maskIdentityValue('email', 'li@example.com')).toBe('l***@example.com');
    expect(maskIdentityValue('wechat_openid', 'oABC')).toBe('oABC');
  });
});

describe('spreadsheetSafe', () => {
  it('defuses values a spreadsheet would run as a formula', () => {
    for (const v of ['=1+1', '+86138', '-2', '@SUM(A1)', '\tx', '\rx']) expect(spreadsheetSafe(v)).toBe(`'${v}`);
    expect(spreadsheetSafe('张三')).toBe('张三');
    expect(spreadsheetSafe('138****5678')).toBe('138****5678');
  });
});

describe('roles and scope', () => {
  it('gives the admin role every permission and no masking', () => {
    const admin = BUILTIN_ROLES.find((r) => r.id === 'admin');
    expect(admin?.permissions).toEqual(PERMISSIONS);
    expect(admin).toMatchObject({ dataScope: 'all', maskPii: false });
  });
  it('lets an own-scope viewer see only their customers, and a team viewer their team', () => {
    const sales = { id: 'u1', teamId: 't1', dataScope: 'own' as const };
    expect(customerInScope(sales, { id: 'u1', teamId: 't1' })).toBe(true);
    expect(customerInScope(sales, { id: 'u2', teamId: 't1' })).toBe(false);
    expect(customerInScope(sales, null)).toBe(false);
    const lead = { ...sales, dataScope: 'team' as const };
    expect(customerInScope(lead, { id: 'u2', teamId: 't1' })).toBe(true);
    expect(customerInScope(lead, { id: 'u3', teamId: 't2' })).toBe(false);
    expect(customerInScope({ ...lead, teamId: null }, { id: 'u3', teamId: null })).toBe(false);
    expect(customerInScope({ ...sales, dataScope: 'all' }, null)).toBe(true);
  });
});
