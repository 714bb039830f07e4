import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import type { InboundRequest, InboundResult, PlatformMessage } from '../kit/connector.js';
import { parseMeituanConfig, type MeituanConfig } from './config.js';
import { buildMeituanPush, meituanCancelParams, meituanPushAsInbound } from './fake-server.js';
import { meituanSig, meituanSignatureBase } from './sign.js';
import { MEITUAN_SUCCESS_REPLY, meituanFailureReply, verifyMeituanPush } from './verify.js';

// Test credentials, not real ones.
const APP_ID = '143183';
const SECRET = 'fake0secret0for0tests0a1b2c3d4e5';
const PUBLIC_URL = 'https://datong.example.com/v1/hooks/meituan/con_mt_1';
const PATH = '/v1/hooks/meituan/con_mt_1';
const T0 = 1767225600; // 2026-01-01T08:00:00+08:00
const config: MeituanConfig = parseMeituanConfig({ appId: APP_ID, appSecret: SECRET });
const ctxAt = (seconds: number) => ({ now: new Date(seconds * 1000), publicUrl: PUBLIC_URL });

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function formRequest(body: string, url = PATH, headers: Record<string, string> = {}): InboundRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', ...headers },
    rawBody: Buffer.from(body, 'utf8'),
  };
}

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

function onlyMessage(result: InboundResult): PlatformMessage {
  if (result.kind !== 'messages') return expect.unreachable('expected messages');
  expect(result.messages).toHaveLength(1);
  const [message] = result.messages;
  if (message === undefined) return expect.unreachable('no message');
  return message;
}

describe('meituanSig: known-answer vectors', () => {
  it('matches the 签名算法 example (getOrderDaySeq, app_poi_code=31号测试店, Chinese kept as is)', () => {
    // The parameters, URL and order of the official 签名算法 example; the secret and digest are the
    // ones a public TypeScript SDK test publishes for them (fixtures/README.md, "sign vectors").
    const url = 'https://waimaiopen.meituan.com/api/v1/order/getOrderDaySeq';
    const params = { app_id: '0000', timestamp: '1389751221', app_poi_code: '31号测试店' };
    const secret = '864be81325af06a24a806277bb084701';
    expect(meituanSignatureBase(url, params, secret)).toBe(
      'https://waimaiopen.meituan.com/api/v1/order/getOrderDaySeq?app_id=0000&app_poi_code=31号测试店&timestamp=1389751221864be81325af06a24a806277bb084701',
    );
    expect(meituanSig(url, params, secret)).toBe('95f7dc02f936cdd293d3aa8ec881eaa4');
  });

  it('signs a cancel push over the push URL (vector computed independently with node:crypto)', () => {
    const params = { order_id: '27061900338318741', reason_code: '1001', reason: '用户取消', deal_op_type: '1', app_id: APP_ID, timestamp: String(T0) };
    const independent = md5(
      `${PUBLIC_URL}?app_id=143183&deal_op_type=1&order_id=27061900338318741&reason=用户取消&reason_code=1001&timestamp=1767225600${SECRET}`,
    );
    expect(independent).toBe('a48352a21d1ac58d85f170a5a4b952f6');
    expect(meituanSig(PUBLIC_URL, params, SECRET)).toBe('a48352a21d1ac58d85f170a5a4b952f6');
  });

  it('leaves sig out, keeps empty values as name=, and ignores the URL query when signing', () => {
    const params = { b: '', a: '1', sig: 'ffffffffffffffffffffffffffffffff' };
    expect(meituanSignatureBase(`${PUBLIC_URL}?x=1#f`, params, 'S')).toBe(`${PUBLIC_URL}?a=1&b=S`);
  });
});

describe('verifyMeituanPush', () => {
  // A form body written out byte for byte: "+" for spaces, UTF-8 percent escapes, an empty value and a
  // JSON value. Values are form-decoded once before signing.
  const RAW_BODY =
    'order_id=27061900338318742&status=2&total=25.5&caution=&recipient_name=%E5%BC%A0+%28%E5%85%88%E7%94%9F%29' +
    '&detail=%5B%7B%22food_name%22%3A%22%E5%AE%AB%E4%BF%9D%E9%B8%A1%E4%B8%81+%E5%8A%A0%E8%BE%A3%22%2C%22price%22%3A25.5%2C%22quantity%22%3A1%7D%5D' +
    '&app_id=143183&timestamp=1767225600&sig=a7f80ad3249054eec512a817db852ef8';

  it('accepts the hand-written form push and signs the once-decoded values', () => {
    const independent = md5(
      `${PUBLIC_URL}?app_id=143183&caution=&detail=[{"food_name":"宫保鸡丁 加辣","price":25.5,"quantity":1}]` +
        `&order_id=27061900338318742&recipient_name=张 (先生)&status=2&timestamp=1767225600&total=25.5${SECRET}`,
    );
    expect(independent).toBe('a7f80ad3249054eec512a817db852ef8');
    const message = onlyMessage(verifyMeituanPush(formRequest(RAW_BODY), config, ctxAt(T0 + 5)));
    expect(message.type).toBe('paid_order');
    expect(message.payload).toStrictEqual({
      order_id: '27061900338318742',
      status: '2',
      total: '25.5',
      caution: '',
      recipient_name: '张 (先生)',
      detail: '[{"food_name":"宫保鸡丁 加辣","price":25.5,"quantity":1}]',
      app_id: '143183',
      timestamp: '1767225600',
    });
    expect(message.messageId).toMatch(/^mt_[0-9a-f]{40}$/);
  });

  it('accepts an upper-case sig (hex is case-insensitive)', () => {
    const body = RAW_BODY.replace('a7f80ad3249054eec512a817db852ef8', 'A7F80AD3249054EEC512A817DB852EF8');
    expect(verifyMeituanPush(formRequest(body), config, ctxAt(T0)).kind).toBe('messages');
  });

  it('accepts a GET push whose parameters are in the query string', () => {
    const push = buildMeituanPush({
      pushUrl: PUBLIC_URL,
      appId: APP_ID,
      appSecret: SECRET,
      params: meituanCancelParams({ orderId: '27061900338318741' }),
      timestamp: T0,
      method: 'GET',
    });
    expect(push.params['sig']).toBe('a48352a21d1ac58d85f170a5a4b952f6');
    const message = onlyMessage(verifyMeituanPush(meituanPushAsInbound(push), config, ctxAt(T0)));
    expect(message.type).toBe('cancel_order');
  });

  it('accepts query and form parameters together, as a servlet merges them', () => {
    const push = buildMeituanPush({ pushUrl: PUBLIC_URL, appId: APP_ID, appSecret: SECRET, params: meituanCancelParams({ orderId: '1' }), timestamp: T0 });
    const params = new URLSearchParams(push.body);
    const sig = params.get('sig') ?? '';
    params.delete('sig');
    const req = formRequest(params.toString(), `${PATH}?sig=${sig}`);
    expect(verifyMeituanPush(req, config, ctxAt(T0)).kind).toBe('messages');
  });

  describe('tampering', () => {
    it('rejects a body with one byte changed', () => {
      const body = RAW_BODY.replace('total=25.5', 'total=25.6');
      expect(thrown(() => verifyMeituanPush(formRequest(body), config, ctxAt(T0))).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    });

    it('rejects a sig with one digit changed', () => {
      const body = RAW_BODY.replace('sig=a7f8', 'sig=a7f9');
      expect(thrown(() => verifyMeituanPush(formRequest(body), config, ctxAt(T0))).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    });

    it('rejects an added parameter, even an empty one', () => {
      expect(thrown(() => verifyMeituanPush(formRequest(`${RAW_BODY}&x=`), config, ctxAt(T0))).code).toBe(
        'CONNECTOR_SIGNATURE_INVALID',
      );
    });

    it('rejects a push signed for another URL (the URL is part of the signature)', () => {
      const ctx = { now: new Date(T0 * 1000), publicUrl: 'https://datong.example.com/v1/hooks/meituan/con_mt_2' };
      expect(thrown(() => verifyMeituanPush(formRequest(RAW_BODY), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    });

    it('rejects a push signed with another secret', () => {
      const other = parseMeituanConfig({ appId: APP_ID, appSecret: `${SECRET}x` });
      expect(thrown(() => verifyMeituanPush(formRequest(RAW_BODY), other, ctxAt(T0))).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    });

    it('rejects a correctly signed push of another app_id', () => {
      const push = buildMeituanPush({ pushUrl: PUBLIC_URL, appId: '999', appSecret: SECRET, params: { order_id: '1', reason_code: '1' }, timestamp: T0 });
      expect(thrown(() => verifyMeituanPush(meituanPushAsInbound(push), config, ctxAt(T0))).code).toBe(
        'CONNECTOR_SIGNATURE_INVALID',
      );
    });

    it('rejects unsigned traffic', () => {
      const body = RAW_BODY.replace(/&sig=[0-9a-f]+$/, '');
      const error = thrown(() => verifyMeituanPush(formRequest(body), config, ctxAt(T0)));
      expect(error.code).toBe('CONNECTOR_SIGNATURE_INVALID');
      expect(thrown(() => verifyMeituanPush(formRequest('order_id=1&sig=not-hex'), config, ctxAt(T0))).code).toBe(
        'CONNECTOR_SIGNATURE_INVALID',
      );
    });

    it('refuses a parameter sent twice', () => {
      const error = thrown(() => verifyMeituanPush(formRequest(`${RAW_BODY}&total=1`), config, ctxAt(T0)));
      expect(error.code).toBe('MESSAGE_INVALID');
    });

    it('refuses a JSON body: Meituan pushes forms', () => {
      const req = formRequest('{"order_id":1}', PATH, { 'content-type': 'application/json' });
      expect(thrown(() => verifyMeituanPush(req, config, ctxAt(T0))).code).toBe('MESSAGE_INVALID');
    });
  });

  describe('replay window', () => {
    it('accepts a push 15 minutes old and one 5 minutes ahead', () => {
      expect(verifyMeituanPush(formRequest(RAW_BODY), config, ctxAt(T0 + 15 * 60)).kind).toBe('messages');
      expect(verifyMeituanPush(formRequest(RAW_BODY), config, ctxAt(T0 - 5 * 60)).kind).toBe('messages');
    });

    it('rejects a correctly signed push older than 15 minutes', () => {
      const error = thrown(() => verifyMeituanPush(formRequest(RAW_BODY), config, ctxAt(T0 + 15 * 60 + 1)));
      expect(error.code).toBe('CONNECTOR_REPLAY_REJECTED');
    });

    it('rejects a correctly signed push from more than 5 minutes in the future', () => {
      const error = thrown(() => verifyMeituanPush(formRequest(RAW_BODY), config, ctxAt(T0 - 5 * 60 - 1)));
      expect(error.code).toBe('CONNECTOR_REPLAY_REJECTED');
    });

    it('rejects a signed push without a timestamp', () => {
      const push = buildMeituanPush({ pushUrl: PUBLIC_URL, appId: APP_ID, appSecret: SECRET, params: { order_id: '1' }, timestamp: T0 });
      const params = new URLSearchParams(push.body);
      params.delete('timestamp');
      params.set('sig', meituanSig(PUBLIC_URL, [...params].filter(([k]) => k !== 'sig'), SECRET));
      expect(thrown(() => verifyMeituanPush(formRequest(params.toString()), config, ctxAt(T0))).code).toBe(
        'CONNECTOR_REPLAY_REJECTED',
      );
    });

    it('gives a retried push (new timestamp and sig, same content) the same message id', () => {
      const build = (timestamp: number) =>
        buildMeituanPush({ pushUrl: PUBLIC_URL, appId: APP_ID, appSecret: SECRET, params: meituanCancelParams({ orderId: '7' }), timestamp });
      const first = onlyMessage(verifyMeituanPush(meituanPushAsInbound(build(T0)), config, ctxAt(T0)));
      const retry = onlyMessage(verifyMeituanPush(meituanPushAsInbound(build(T0 + 60)), config, ctxAt(T0 + 60)));
      expect(retry.messageId).toBe(first.messageId);
    });
  });

  describe('fail closed', () => {
    it('refuses to verify with a config that has no secret', () => {
      const unchecked = { appId: APP_ID, apiBase: 'https://waimaiopen.meituan.com/api/v1' } as unknown as MeituanConfig;
      expect(thrown(() => verifyMeituanPush(formRequest(RAW_BODY), unchecked, ctxAt(T0))).code).toBe('CONNECTOR_CONFIG_INVALID');
    });

    it('refuses to verify with an empty secret', () => {
      const unchecked = { ...config, appSecret: '' };
      expect(thrown(() => verifyMeituanPush(formRequest(RAW_BODY), unchecked, ctxAt(T0))).code).toBe('CONNECTOR_CONFIG_INVALID');
    });

    it('refuses a public URL that is not absolute', () => {
      const error = thrown(() => verifyMeituanPush(formRequest(RAW_BODY), config, { now: new Date(T0 * 1000), publicUrl: PATH }));
      expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    });
  });

  it('answers the parameterless URL check of the developer centre with {"data":"ok"} and stores nothing', () => {
    const result = verifyMeituanPush({ method: 'GET', url: PATH, headers: {}, rawBody: Buffer.alloc(0) }, config, ctxAt(T0));
    expect(result).toStrictEqual({ kind: 'handshake', reply: MEITUAN_SUCCESS_REPLY });
  });

  it('replies exactly {"data":"ok"} on success and a non-ok JSON on failure', () => {
    expect(MEITUAN_SUCCESS_REPLY).toStrictEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: '{"data":"ok"}' });
    const failure = meituanFailureReply('CONNECTOR_SIGNATURE_INVALID');
    expect(failure.status).toBe(401);
    expect(JSON.parse(failure.body)).toMatchObject({ data: 'ng' });
    expect(meituanFailureReply('PLATFORM_UNREACHABLE').status).toBe(503);
  });
});
