import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import type { InboundRequest } from '../kit/connector.js';
import { parseDoudianConfig, type DoudianConfig } from './config.js';
import { buildDoudianPush } from './fake-server.js';
import { apiSignPattern, signApiRequest, verifyApiRequest } from './sign.js';
import { marshalParamJson } from './json.js';
import { computeEventSign, DOUDIAN_SUCCESS_REPLY, doudianFailureReply, verifyDoudianPush } from './verify.js';

/*
 * Known-answer vectors. The platform's push doc and signing doc give the formulas but no worked
 * example with a published secret, so the vectors below use invented credentials; each expected
 * hex string was computed once with Python's hashlib/hmac from the documented formula (an
 * implementation independent of this code) and is hard-coded, and each test ALSO recomputes it
 * here with node:crypto straight from the formula.
 */
const APP_KEY = '7001234567890123456';
const APP_SECRET = 'e1c4a0d2-5b7f-4c3e-9a61-2f8d3b7c9e10';
const CONFIG: DoudianConfig = parseDoudianConfig({ appKey: APP_KEY, appSecret: APP_SECRET, shopId: '4463798' });

/** A tag-100 push, byte for byte: data is a JSON string whose p_id/s_ids exceed 2^53. */
const TRADE_CREATE_BODY =
  '[{"tag":"100","msg_id":"7364289001234567890","data":"{\\"biz\\":2,\\"create_time\\":1714538000,\\"order_status\\":1,\\"order_type\\":0,\\"p_id\\":4781320682406083640,\\"s_ids\\":[4781320682406083641],\\"shop_id\\":4463798}"}]';
const TRADE_CREATE_MD5 = 'fe76028379996b3bdee41228685bfc68';
const TRADE_CREATE_HMAC = '86e2a54d7e775c373bc55dd9f6c19c74bc68eb9346a1a3f7e09cae1d88cbf2a8';
const CHECK_BODY = '[{"tag":"0","msg_id":"0","data":"{}"}]';
const CHECK_MD5 = '9efaa95f2700ff7750b1388affc836b0';

function request(body: string | Buffer, headers: Record<string, string | undefined>, method = 'POST'): InboundRequest {
  return { method, url: '/v1/hooks/doudian/con_1', headers, rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') };
}

function rejectionOf(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

describe('event-sign known-answer vectors', () => {
  it('md5(app_key + raw body + app_secret) over the documented push body', () => {
    const independent = createHash('md5').update(`${APP_KEY}${TRADE_CREATE_BODY}${APP_SECRET}`, 'utf8').digest('hex');
    expect(independent).toBe(TRADE_CREATE_MD5);
    expect(computeEventSign(APP_KEY, Buffer.from(TRADE_CREATE_BODY), APP_SECRET)).toBe(TRADE_CREATE_MD5);
  });

  it('HMAC-SHA256 keyed with app_secret over the same bytes when sign-method is hmac-sha256', () => {
    const independent = createHmac('sha256', APP_SECRET).update(`${APP_KEY}${TRADE_CREATE_BODY}${APP_SECRET}`, 'utf8').digest('hex');
    expect(independent).toBe(TRADE_CREATE_HMAC);
    expect(computeEventSign(APP_KEY, Buffer.from(TRADE_CREATE_BODY), APP_SECRET, 'hmac-sha256')).toBe(TRADE_CREATE_HMAC);
  });

  it('the URL-check push (tag 0)', () => {
    expect(computeEventSign(APP_KEY, Buffer.from(CHECK_BODY), APP_SECRET)).toBe(CHECK_MD5);
  });
});

describe('verifyDoudianPush', () => {
  it('accepts the vector and keeps 19-digit ids exact', () => {
    const result = verifyDoudianPush(request(TRADE_CREATE_BODY, { 'app-id': APP_KEY, 'event-sign': TRADE_CREATE_MD5 }), CONFIG);
    expect(result.kind).toBe('messages');
    if (result.kind !== 'messages') return;
    expect(result.messages).toHaveLength(1);
    const [message] = result.messages;
    expect(message).toMatchObject({ messageId: '7364289001234567890', type: '100', occurredAt: '2024-05-01T12:33:20+08:00' });
    // 4781320682406083640 > 2^53: JSON.parse would have made it 4781320682406083000.
    expect(message?.payload).toMatchObject({ p_id: '4781320682406083640', s_ids: ['4781320682406083641'], shop_id: 4463798 });
  });

  it('accepts an upper-case event-sign and the hmac-sha256 sign-method', () => {
    const upper = verifyDoudianPush(request(TRADE_CREATE_BODY, { 'event-sign': TRADE_CREATE_MD5.toUpperCase() }), CONFIG);
    expect(upper.kind).toBe('messages');
    const hmac = verifyDoudianPush(
      request(TRADE_CREATE_BODY, { 'app-id': APP_KEY, 'event-sign': TRADE_CREATE_HMAC, 'sign-method': 'hmac-sha256' }),
      CONFIG,
    );
    expect(hmac.kind).toBe('messages');
  });

  it('answers the tag-0 URL check as a handshake with the success reply, storing nothing', () => {
    const result = verifyDoudianPush(request(CHECK_BODY, { 'app-id': APP_KEY, 'event-sign': CHECK_MD5 }), CONFIG);
    expect(result).toStrictEqual({ kind: 'handshake', reply: DOUDIAN_SUCCESS_REPLY });
    expect(DOUDIAN_SUCCESS_REPLY.body).toBe('{"code":0,"msg":"success"}');
    expect(DOUDIAN_SUCCESS_REPLY.status).toBe(200);
  });

  it('rejects every single-byte change of the body (tamper)', () => {
    const original = Buffer.from(TRADE_CREATE_BODY, 'utf8');
    for (let i = 0; i < original.length; i += 7) {
      const tampered = Buffer.from(original);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      const error = rejectionOf(() => verifyDoudianPush(request(tampered, { 'event-sign': TRADE_CREATE_MD5 }), CONFIG));
      expect(error.code).toBe('CONNECTOR_SIGNATURE_INVALID');
    }
  });

  it('rejects a changed signature, a missing signature and a signature made with another secret', () => {
    const flipped = `${TRADE_CREATE_MD5.slice(0, -1)}${TRADE_CREATE_MD5.endsWith('8') ? '9' : '8'}`;
    const otherSecret = computeEventSign(APP_KEY, Buffer.from(TRADE_CREATE_BODY), 'another-secret');
    for (const headers of [{ 'event-sign': flipped }, {}, { 'event-sign': '' }, { 'event-sign': otherSecret }]) {
      expect(rejectionOf(() => verifyDoudianPush(request(TRADE_CREATE_BODY, headers), CONFIG)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    }
  });

  it('rejects an md5 signature presented as hmac-sha256, an unknown sign-method and another app-id', () => {
    for (const headers of [
      { 'event-sign': TRADE_CREATE_MD5, 'sign-method': 'hmac-sha256' },
      { 'event-sign': TRADE_CREATE_MD5, 'sign-method': 'none' },
      { 'event-sign': TRADE_CREATE_MD5, 'app-id': '7009999999999999999' },
    ]) {
      expect(rejectionOf(() => verifyDoudianPush(request(TRADE_CREATE_BODY, headers), CONFIG)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    }
  });

  it('fails closed without an App Secret, even for a body signed with an empty secret', () => {
    const unsigned = createHash('md5').update(`${APP_KEY}${TRADE_CREATE_BODY}`).digest('hex');
    const noSecret = { appKey: APP_KEY, appSecret: '' };
    expect(rejectionOf(() => verifyDoudianPush(request(TRADE_CREATE_BODY, { 'event-sign': unsigned }), noSecret)).code).toBe(
      'CONNECTOR_SIGNATURE_INVALID',
    );
    const error = rejectionOf(() => parseDoudianConfig({ appKey: APP_KEY, shopId: '4463798' }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
    expect(error.extensions).toMatchObject({ errors: [{ pointer: '/appSecret' }] });
  });

  it('rejects GET and unsigned traffic before looking at the body', () => {
    expect(rejectionOf(() => verifyDoudianPush(request('not json', {}), CONFIG)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    expect(rejectionOf(() => verifyDoudianPush(request(CHECK_BODY, { 'event-sign': CHECK_MD5 }, 'GET'), CONFIG)).code).toBe(
      'CONNECTOR_SIGNATURE_INVALID',
    );
  });

  it('answers MESSAGE_INVALID for a signed body that is not an array of {tag, msg_id, data}', () => {
    for (const body of ['{"tag":"100"}', '[]', 'not json', '[{"msg_id":"1","data":"{}"}]', '[{"tag":"100","msg_id":"1","data":"{oops"}]']) {
      const sign = computeEventSign(APP_KEY, Buffer.from(body), APP_SECRET);
      expect(rejectionOf(() => verifyDoudianPush(request(body, { 'event-sign': sign }), CONFIG)).code).toBe('MESSAGE_INVALID');
    }
  });

  it('splits a batch and marks a tag-0 element inside it as a test message', () => {
    const push = buildDoudianPush({ appKey: APP_KEY, appSecret: APP_SECRET }, [
      { tag: 0, msgId: '0', data: {} },
      { tag: 206, msgId: '7364289001234567999', data: { aftersale_id: 7364289001234567001n, p_id: 4781320682406083640n, shop_id: 4463798, success_time: 1714600000 } },
    ]);
    const result = verifyDoudianPush(request(push.body, push.headers), CONFIG);
    expect(result.kind).toBe('messages');
    if (result.kind !== 'messages') return;
    expect(result.messages.map((m) => [m.type, m.test === true])).toStrictEqual([
      ['0', true],
      ['206', false],
    ]);
    expect(result.messages[1]?.payload).toMatchObject({ aftersale_id: '7364289001234567001', p_id: '4781320682406083640' });
  });

  it('buildDoudianPush signs exactly like the vector and repeats msg_id for the same message', () => {
    const data = '{"biz":2,"create_time":1714538000,"order_status":1,"order_type":0,"p_id":4781320682406083640,"s_ids":[4781320682406083641],"shop_id":4463798}';
    const push = buildDoudianPush({ appKey: APP_KEY, appSecret: APP_SECRET }, [{ tag: '100', msgId: '7364289001234567890', data }]);
    expect(push.body.toString('utf8')).toBe(TRADE_CREATE_BODY);
    expect(push.headers).toMatchObject({ 'app-id': APP_KEY, 'event-sign': TRADE_CREATE_MD5 });
    const again = buildDoudianPush({ appKey: APP_KEY, appSecret: APP_SECRET }, [{ tag: '100', data }]);
    const twice = buildDoudianPush({ appKey: APP_KEY, appSecret: APP_SECRET }, [{ tag: '100', data }]);
    expect(again.body.equals(twice.body)).toBe(true);
    expect(verifyDoudianPush(request(again.body, again.headers), CONFIG).kind).toBe('messages');
  });

  it('failure replies are not the success body, so the platform pushes again', () => {
    expect(doudianFailureReply('CONNECTOR_SIGNATURE_INVALID').status).toBe(401);
    expect(doudianFailureReply('MESSAGE_INVALID').status).toBe(400);
    expect(doudianFailureReply('INTERNAL').body).not.toBe(DOUDIAN_SUCCESS_REPLY.body);
  });
});

/*
 * Open API request signing. The batchEncrypt parameters are the signing doc's own example
 * (签名算法, guide-docs/10/813: plain_text "&<>='/ô汉😀", "附加符号、中日韩、Emoji都不转义");
 * the doc prints no secret or result, so the expected strings were computed with Python
 * (json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False) and hmac/hashlib).
 */
describe('Open API signing known-answer vectors', () => {
  const TIMESTAMP = '1700000000';
  const BATCH_ENCRYPT = {
    batch_encrypt_list: [{ plain_text: "&<>='/ô汉😀", auth_id: '12345', is_support_index: false, sensitive_type: 2 }],
  };
  const BATCH_ENCRYPT_JSON = '{"batch_encrypt_list":[{"auth_id":"12345","is_support_index":false,"plain_text":"&<>=\'/ô汉😀","sensitive_type":2}]}';

  it('marshals param_json with keys sorted recursively and nothing escaped, as the doc example requires', () => {
    expect(marshalParamJson(BATCH_ENCRYPT)).toBe(BATCH_ENCRYPT_JSON);
  });

  it('signs order.batchEncrypt with hmac-sha256 and md5', () => {
    const input = { appKey: APP_KEY, appSecret: APP_SECRET, method: 'order.batchEncrypt', paramJson: BATCH_ENCRYPT_JSON, timestamp: TIMESTAMP };
    const pattern = `${APP_SECRET}app_key${APP_KEY}methodorder.batchEncryptparam_json${BATCH_ENCRYPT_JSON}timestamp${TIMESTAMP}v2${APP_SECRET}`;
    expect(apiSignPattern(input)).toBe(pattern);
    expect(createHmac('sha256', APP_SECRET).update(pattern).digest('hex')).toBe('54a532d7aa6cb4785c75811b5158790849d866c9347a7b0b2997af14c156c45b');
    expect(signApiRequest(input)).toBe('54a532d7aa6cb4785c75811b5158790849d866c9347a7b0b2997af14c156c45b');
    expect(signApiRequest(input, 'md5')).toBe('c28a314d012f3ecef459f19b9925850c');
  });

  it('signs token.create and order.searchList as the client sends them', () => {
    const tokenJson = marshalParamJson({ shop_id: '4463798', grant_type: 'authorization_self', code: '' });
    expect(tokenJson).toBe('{"code":"","grant_type":"authorization_self","shop_id":"4463798"}');
    expect(signApiRequest({ appKey: APP_KEY, appSecret: APP_SECRET, method: 'token.create', paramJson: tokenJson, timestamp: TIMESTAMP })).toBe(
      'fb5db3c321c58afd6cc22b18b8d50675745d40ebc4a121a128e5aece63c07957',
    );
    const searchJson = marshalParamJson({
      update_time_start: 1714521600,
      update_time_end: 1714607999,
      order_by: 'update_time',
      order_asc: true,
      page: 0,
      size: 100,
    });
    expect(searchJson).toBe('{"order_asc":true,"order_by":"update_time","page":0,"size":100,"update_time_end":1714607999,"update_time_start":1714521600}');
    expect(signApiRequest({ appKey: APP_KEY, appSecret: APP_SECRET, method: 'order.searchList', paramJson: searchJson, timestamp: TIMESTAMP })).toBe(
      'abaa1f9217dcd8813d1d2fd875ef89af08ba2b8aed4bb547ba8b0e63fa7476b2',
    );
  });

  it('refuses to sign without a secret', () => {
    const error = rejectionOf(() => signApiRequest({ appKey: APP_KEY, appSecret: '', method: 'token.create', paramJson: '{}', timestamp: TIMESTAMP }));
    expect(error.code).toBe('CONNECTOR_CONFIG_INVALID');
  });
});

describe('verifyApiRequest (what the fake server enforces)', () => {
  const paramJson = '{"shop_order_id":"6919395948153934114"}';
  const timestamp = '1714536000';
  const sign = signApiRequest({ appKey: APP_KEY, appSecret: APP_SECRET, method: 'order.orderDetail', paramJson, timestamp });
  const query = { app_key: APP_KEY, method: 'order.orderDetail', v: '2', timestamp, sign, sign_method: 'hmac-sha256' };
  const at = (seconds: number): Date => new Date(seconds * 1000);

  it('accepts a fresh, correctly signed request', () => {
    expect(verifyApiRequest({ query, body: paramJson }, CONFIG, at(1714536000 + 299))).toStrictEqual({ method: 'order.orderDetail', paramJson });
  });

  it('rejects a timestamp outside ±300 s (replay)', () => {
    for (const now of [1714536000 + 301, 1714536000 - 301]) {
      expect(rejectionOf(() => verifyApiRequest({ query, body: paramJson }, CONFIG, at(now))).code).toBe('CONNECTOR_REPLAY_REJECTED');
    }
  });

  it('rejects a tampered body, method or sign, and another app_key', () => {
    const now = at(1714536000);
    expect(rejectionOf(() => verifyApiRequest({ query, body: paramJson.replace('4114', '4115') }, CONFIG, now)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    expect(rejectionOf(() => verifyApiRequest({ query: { ...query, method: 'order.searchList' }, body: paramJson }, CONFIG, now)).code).toBe(
      'CONNECTOR_SIGNATURE_INVALID',
    );
    expect(rejectionOf(() => verifyApiRequest({ query: { ...query, sign: sign.replace(/^./, sign.startsWith('0') ? '1' : '0') }, body: paramJson }, CONFIG, now)).code).toBe(
      'CONNECTOR_SIGNATURE_INVALID',
    );
    expect(rejectionOf(() => verifyApiRequest({ query: { ...query, app_key: '7009999999999999999' }, body: paramJson }, CONFIG, now)).code).toBe(
      'CONNECTOR_SIGNATURE_INVALID',
    );
  });
});
