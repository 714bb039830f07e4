import { describe, expect, it } from 'vitest';
import { buildConfig, isApiBase, isLocalUrl, PLATFORM_SPECS } from './platforms';
import { summarizeResult } from './summary';

describe('buildConfig', () => {
  it('trims values and leaves empty optional fields out, so the server applies its defaults', () => {
    expect(buildConfig('youzan', { clientId: ' c1 ', clientSecret: 's1', kdtId: '13027865', apiBase: '  ' })).toEqual({ clientId: 'c1', clientSecret: 's1', kdtId: '13027865' });
    expect(buildConfig('meituan', { appId: '143183', appSecret: 'x', appPoiCode: '', apiBase: 'http://127.0.0.1:9/api/v1' })).toEqual({
      appId: '143183',
      appSecret: 'x',
      apiBase: 'http://127.0.0.1:9/api/v1',
    });
  });

  it('sends no field the platform does not know (the config schemas refuse extra properties)', () => {
    expect(Object.keys(buildConfig('doudian', { appKey: '7001234567890123456', appSecret: 's', shopId: '1', other: 'x' }))).toEqual(['appKey', 'appSecret', 'shopId']);
  });

  it('marks the secrets of every platform as secret', () => {
    const secrets = Object.fromEntries(Object.values(PLATFORM_SPECS).map((s) => [s.platform, s.fields.filter((f) => f.secret).map((f) => f.key)]));
    expect(secrets).toEqual({ youzan: ['clientSecret'], taobao: ['appSecret', 'sessionKey'], doudian: ['appSecret'], meituan: ['appSecret'] });
  });
});

describe('isApiBase', () => {
  it('accepts what the connector config schemas accept: empty, or an absolute http(s) URL on any port', () => {
    expect(isApiBase(undefined)).toBe(true);
    expect(isApiBase(' ')).toBe(true);
    expect(isApiBase('http://127.0.0.1:9/router/rest')).toBe(true);
    expect(isApiBase('https://gw.example.com')).toBe(true);
    expect(isApiBase('ftp://gw.example.com')).toBe(false);
    expect(isApiBase('https://gw.example.com/?a=1')).toBe(false);
    expect(isApiBase('gw.example.com')).toBe(false);
  });
});

describe('isLocalUrl', () => {
  it('tells a webhook URL only this machine can reach from a public one', () => {
    expect(isLocalUrl('http://127.0.0.1:3000/v1/hooks/youzan/con_1')).toBe(true);
    expect(isLocalUrl('http://localhost:3000/v1/hooks/youzan/con_1')).toBe(true);
    expect(isLocalUrl('https://crm.example.com/v1/hooks/youzan/con_1')).toBe(false);
  });
});

describe('summarizeResult', () => {
  it('summarizes orders, refunds, member events and ignored records', () => {
    expect(
      summarizeResult({
        records: [
          { kind: 'order', orderId: 'E1', status: 'paid', previousStatus: 'created', applied: true, total: '199.00', currency: 'CNY' },
          { kind: 'refund', refundId: 'R1', status: 'refunded', previousStatus: null, applied: false, amount: '10.00', currency: 'CNY' },
          { kind: 'member', event: 'member.joined', level: 'VIP1' },
          { kind: 'ignored', reason: 'not an order message' },
        ],
        inbox: 2,
      }),
    ).toEqual([
      { kind: 'order', id: 'E1', status: 'paid', previousStatus: 'created', applied: true, amount: '199.00 CNY' },
      { kind: 'refund', id: 'R1', status: 'refunded', previousStatus: null, applied: false, amount: '10.00 CNY' },
      { kind: 'member', event: 'member.joined', level: 'VIP1' },
      { kind: 'ignored', reason: 'not an order message' },
    ]);
  });

  it('shows nothing for a message without a result', () => {
    expect(summarizeResult(null)).toEqual([]);
    expect(summarizeResult({ records: 'x' })).toEqual([]);
  });
});
