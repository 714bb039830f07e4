import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { parseTaobaoConfig } from './config.js';
import { formatTopTime, parseTopTime, signTopRequest, topSignBaseString, topTimeToIso } from './sign.js';
import { TOP_MAX_CLOCK_SKEW_MS, verifyTaobaoPush, verifyTopRequest } from './verify.js';

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

/*
 * The worked example of open.taobao.com "API调用方法详解" (docId 101617, 签名举例): calling
 * taobao.item.seller.get with app_key 12345678, secret "helloworld", sign_method md5.
 */
const DOC_EXAMPLE = {
  method: 'taobao.item.seller.get',
  app_key: '12345678',
  session: 'test',
  timestamp: '2016-01-01 12:00:00',
  format: 'json',
  v: '2.0',
  sign_method: 'md5',
  fields: 'num_iid,title,nick,price,num',
  num_iid: '11223344',
} as const;
const DOC_SECRET = 'helloworld';
const DOC_BASE =
  'app_key12345678fieldsnum_iid,title,nick,price,numformatjsonmethodtaobao.item.seller.getnum_iid11223344sessiontestsign_methodmd5timestamp2016-01-01 12:00:00v2.0';

describe('signTopRequest: known-answer vectors', () => {
  it('sorts parameter names in ASCII order and joins name+value (the doc example bar2foo1foo_bar3foobar4)', () => {
    expect(topSignBaseString({ foo: '1', bar: '2', foo_bar: '3', foobar: '4' })).toBe('bar2foo1foo_bar3foobar4');
  });

  it('md5: reproduces the doc worked example byte for byte', () => {
    expect(topSignBaseString(DOC_EXAMPLE)).toBe(DOC_BASE);
    expect(signTopRequest(DOC_EXAMPLE, DOC_SECRET, 'md5')).toBe('66987CB115214E59E6EC978214934FB8');
    // md5(secret + base + secret), upper-case hex, computed here independently.
    expect(createHash('md5').update(DOC_SECRET + DOC_BASE + DOC_SECRET).digest('hex').toUpperCase()).toBe(
      '66987CB115214E59E6EC978214934FB8',
    );
  });

  it('hmac: HMAC-MD5 keyed with the secret over the same parameters', () => {
    const params = { ...DOC_EXAMPLE, sign_method: 'hmac' };
    const independent = createHmac('md5', DOC_SECRET).update(topSignBaseString(params)).digest('hex').toUpperCase();
    expect(signTopRequest(params, DOC_SECRET, 'hmac')).toBe(independent);
    expect(signTopRequest(params, DOC_SECRET, 'hmac')).toBe('D56D7858309C31B6251083A874D48273');
  });

  it('hmac-sha256: HMAC-SHA256 keyed with the secret, 64 upper-case hex characters', () => {
    const params = { ...DOC_EXAMPLE, sign_method: 'hmac-sha256' };
    const independent = createHmac('sha256', DOC_SECRET).update(topSignBaseString(params)).digest('hex').toUpperCase();
    expect(signTopRequest(params, DOC_SECRET, 'hmac-sha256')).toBe(independent);
    expect(signTopRequest(params, DOC_SECRET, 'hmac-sha256')).toBe(
      '04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8',
    );
  });

  it('hmac and hmac-sha256 are plain HMACs: RFC 2202 / RFC 4231 test case 2 through one parameter', () => {
    // name "what" + value " do ya want for nothing?" is the RFC's data, key "Jefe".
    const params = { what: ' do ya want for nothing?' };
    expect(signTopRequest(params, 'Jefe', 'hmac')).toBe('750C783E6AB0B503EAA86E310A5DB738');
    expect(signTopRequest(params, 'Jefe', 'hmac-sha256')).toBe(
      '5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843',
    );
  });

  it('signs UTF-8 bytes, leaves out empty values and never signs `sign` itself', () => {
    const params = {
      method: 'taobao.trades.sold.increment.get',
      app_key: '12345678',
      session: 'test',
      timestamp: '2024-03-01 12:00:00',
      format: 'json',
      v: '2.0',
      sign_method: 'hmac-sha256',
      start_modified: '2024-03-01 11:00:00',
      end_modified: '2024-03-01 11:59:59',
      fields: 'tid,status',
      buyer_nick: '张三',
      page_no: '1',
      empty: '',
      nothing: undefined,
    };
    const base = topSignBaseString(params);
    expect(base).toBe(
      'app_key12345678buyer_nick张三end_modified2024-03-01 11:59:59fieldstid,statusformatjsonmethodtaobao.trades.sold.increment.getpage_no1sessiontestsign_methodhmac-sha256start_modified2024-03-01 11:00:00timestamp2024-03-01 12:00:00v2.0',
    );
    const sign = signTopRequest(params, DOC_SECRET, 'hmac-sha256');
    expect(sign).toBe(createHmac('sha256', DOC_SECRET).update(Buffer.from(base, 'utf8')).digest('hex').toUpperCase());
    expect(sign).toBe('C2EFF5AA3A5722F9E12B8996265E7FC84EACB29D23D7F8AD2836C0EA5F6643AC');
    expect(signTopRequest({ ...params, sign: 'ANYTHING' }, DOC_SECRET, 'hmac-sha256')).toBe(sign);
  });

  it('refuses to sign without a secret', () => {
    expect(thrown(() => signTopRequest(DOC_EXAMPLE, '', 'md5')).code).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('TOP times (GMT+8, yyyy-MM-dd HH:mm:ss)', () => {
  it('formats an instant in GMT+8 (the doc example 2016-01-01 12:00:00)', () => {
    expect(formatTopTime(new Date('2016-01-01T04:00:00Z'))).toBe('2016-01-01 12:00:00');
    expect(formatTopTime(new Date('2023-12-31T16:00:00.999Z'))).toBe('2024-01-01 00:00:00');
  });

  it('parses back to the same instant and refuses non-dates', () => {
    expect(parseTopTime('2016-01-01 12:00:00')).toBe(Date.parse('2016-01-01T04:00:00Z'));
    expect(parseTopTime('2024-02-30 00:00:00')).toBeUndefined();
    expect(parseTopTime('2024-01-01T00:00:00')).toBeUndefined();
    expect(parseTopTime(1704038400000)).toBeUndefined();
    expect(topTimeToIso('2024-03-01 12:00:00')).toBe('2024-03-01T12:00:00+08:00');
  });
});

describe('verifyTopRequest (what the TOP router checks)', () => {
  const now = new Date('2016-01-01T04:03:00Z'); // 12:03 in GMT+8, 3 minutes after the example's timestamp
  const signed = (method: 'md5' | 'hmac' | 'hmac-sha256') => {
    const params = { ...DOC_EXAMPLE, sign_method: method };
    return { ...params, sign: signTopRequest(params, DOC_SECRET, method) };
  };

  it.each(['md5', 'hmac', 'hmac-sha256'] as const)('accepts a correctly signed %s request', (method) => {
    expect(verifyTopRequest(signed(method), DOC_SECRET, now)).toStrictEqual({ ok: true, signMethod: method });
  });

  it('accepts the doc example with its published sign', () => {
    expect(verifyTopRequest({ ...DOC_EXAMPLE, sign: '66987CB115214E59E6EC978214934FB8' }, DOC_SECRET, now).ok).toBe(true);
  });

  it.each(['md5', 'hmac', 'hmac-sha256'] as const)('rejects a %s request with one parameter byte changed', (method) => {
    const request = signed(method);
    expect(verifyTopRequest({ ...request, num_iid: '11223345' }, DOC_SECRET, now)).toMatchObject({ ok: false, code: 25 });
    expect(verifyTopRequest({ ...request, extra: 'x' }, DOC_SECRET, now)).toMatchObject({ ok: false, code: 25 });
  });

  it('rejects a sign with one hex digit changed, a lower-case sign and the wrong secret', () => {
    const request = signed('hmac-sha256');
    const flipped = (request.sign[0] === 'A' ? 'B' : 'A') + request.sign.slice(1);
    expect(verifyTopRequest({ ...request, sign: flipped }, DOC_SECRET, now)).toMatchObject({ ok: false, code: 25 });
    expect(verifyTopRequest({ ...request, sign: request.sign.toLowerCase() }, DOC_SECRET, now)).toMatchObject({ ok: false });
    expect(verifyTopRequest(request, 'helloworle', now)).toMatchObject({ ok: false, code: 25 });
  });

  it('rejects a request signed under another sign_method than it declares', () => {
    const request = signed('hmac');
    expect(verifyTopRequest({ ...request, sign_method: 'md5' }, DOC_SECRET, now)).toMatchObject({ ok: false, code: 25 });
    expect(verifyTopRequest({ ...request, sign_method: 'sha1' }, DOC_SECRET, now)).toMatchObject({ ok: false, code: 25 });
  });

  it('rejects replays: a timestamp more than 10 minutes away, either way', () => {
    const request = signed('md5');
    const at = Date.parse('2016-01-01T04:00:00Z');
    expect(verifyTopRequest(request, DOC_SECRET, new Date(at + TOP_MAX_CLOCK_SKEW_MS)).ok).toBe(true);
    expect(verifyTopRequest(request, DOC_SECRET, new Date(at + TOP_MAX_CLOCK_SKEW_MS + 1000))).toMatchObject({
      ok: false,
      code: 31,
    });
    expect(verifyTopRequest(request, DOC_SECRET, new Date(at - TOP_MAX_CLOCK_SKEW_MS - 1000))).toMatchObject({
      ok: false,
      code: 31,
    });
  });

  it('rejects unsigned requests, missing timestamps and an empty secret', () => {
    const { sign: _sign, ...unsigned } = signed('md5');
    expect(verifyTopRequest(unsigned, DOC_SECRET, now)).toMatchObject({ ok: false, code: 24 });
    const { timestamp: _ts, ...noTime } = signed('md5');
    expect(verifyTopRequest(noTime, DOC_SECRET, now)).toMatchObject({ ok: false, code: 30 });
    expect(verifyTopRequest(signed('md5'), '', now)).toMatchObject({ ok: false, code: 25 });
  });
});

describe('verifyTaobaoPush', () => {
  const ctx = { now: new Date('2024-03-01T04:00:00Z'), publicUrl: 'https://datong.example.com/v1/hooks/taobao/con_1' };
  const config = parseTaobaoConfig({ appKey: '12345678', appSecret: DOC_SECRET, sessionKey: 'test' });

  it('refuses every HTTP push, even one carrying a valid TOP signature', () => {
    const params = { ...DOC_EXAMPLE, sign: '66987CB115214E59E6EC978214934FB8' };
    const error = thrown(() =>
      verifyTaobaoPush(
        {
          method: 'POST',
          url: '/v1/hooks/taobao/con_1',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          rawBody: Buffer.from(new URLSearchParams(params).toString()),
        },
        config,
        ctx,
      ),
    );
    expect(error.code).toBe('CONNECTOR_SIGNATURE_INVALID');
    expect(error.detail).toContain('taobao.tmc.messages.consume');
  });

  it('refuses an empty request', () => {
    const request = { method: 'POST', url: '/v1/hooks/taobao/con_1', headers: {}, rawBody: Buffer.alloc(0) };
    expect(thrown(() => verifyTaobaoPush(request, config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
  });
});

describe('fail closed on missing secrets', () => {
  it.each(['appSecret', 'sessionKey'])('parseTaobaoConfig refuses a config without %s', (field) => {
    const raw: Record<string, string> = { appKey: '12345678', appSecret: DOC_SECRET, sessionKey: 'test' };
    delete raw[field];
    const error = thrown(() => parseTaobaoConfig(raw));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.extensions).toMatchObject({ errors: [{ pointer: `/${field}` }] });
  });
});
