import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import type { InboundRequest, PlatformMessage } from '../kit/connector.js';
import { parseYouzanConfig, type YouzanConfig } from './config.js';
import { buildYouzanPush } from './fake-server.js';
import { youzan } from './index.js';
import {
  YOUZAN_SUCCESS_REPLY,
  messageFromPushBody,
  verifyYouzanPush,
  versionIso,
  versionMillis,
  youzanBodySign,
  youzanEventSign,
  youzanFailureReply,
  type YouzanPushPayload,
} from './verify.js';

/*
 * Known-answer vectors. Youzan's docs give the formulas (Event-Sign = MD5(client_id + entity +
 * client_secret) over the raw request body; body sign = MD5(client_id + msg + client_secrect))
 * but no worked example with a secret. The vectors below take a push body recorded from a real
 * shop and published in a public integration (trade_TradeSuccess, 开业啦商城, 2021-03-07), byte
 * for byte, with an invented secret. The expected hex was computed with coreutils `md5sum`
 * (independently of this code) and is hard-coded; the tests also recompute it with node:crypto
 * from the documented formula.
 */

const CLIENT_ID = 'c346b8b39599aaa677';
const SECRET = 'youzan-test-secret-0001';
const KDT_ID = '13027865';

const RECORDED_BODY =
  '{"msg":"%7B%22update_time%22%3A%222021-03-07+18%3A06%3A22%22%2C%22tid%22%3A%22E20210307175649090904167%22%7D",' +
  '"kdt_name":"开业啦商城","test":false,"sign":"4f4e7bcee79811e62a254968a83fc494","type":"trade_TradeSuccess",' +
  '"sendCount":1,"version":1615111582,"client_id":"c346b8b39599aaa677","mode":1,"kdt_id":13027865,' +
  '"id":"E20210307175649090904167","msg_id":"dbda5478-76bf-4172-ac14-8d5ebac2002d","root_kdt_id":13027865,"status":"TRADE_SUCCESS"}';
const RECORDED_MSG = '%7B%22update_time%22%3A%222021-03-07+18%3A06%3A22%22%2C%22tid%22%3A%22E20210307175649090904167%22%7D';

const EVENT_SIGN_KAV = 'b8ae2606818b661a19f8ee412f7272a4';
const BODY_SIGN_KAV = '2717dfeaffb18cf904fbe7eec3332d60';

const config: YouzanConfig = parseYouzanConfig({ clientId: CLIENT_ID, clientSecret: SECRET, kdtId: KDT_ID });
const ctx = { now: new Date('2026-11-22T00:00:00Z'), publicUrl: 'https://datong.example.com/v1/hooks/youzan/con_1' };

function request(body: string | Buffer, headers: Record<string, string | undefined>, method = 'POST'): InboundRequest {
  return { method, url: '/v1/hooks/youzan/con_1', headers, rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8') };
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

function only(result: ReturnType<typeof verifyYouzanPush>): PlatformMessage {
  if (result.kind !== 'messages') return expect.unreachable('expected messages');
  expect(result.messages).toHaveLength(1);
  return result.messages[0]!;
}

function push(overrides: Partial<Parameters<typeof buildYouzanPush>[0]> = {}) {
  return buildYouzanPush({
    clientId: CLIENT_ID,
    clientSecret: SECRET,
    kdtId: KDT_ID,
    kdtName: '开业啦商城',
    type: 'trade_TradeSuccess',
    status: 'TRADE_SUCCESS',
    id: 'E20261101100000000100001',
    msg: { update_time: '2026-11-01 10:00:00', tid: 'E20261101100000000100001' },
    msgId: 'a1d466ad-f9db-4a58-b805-f2a4dd65fa56',
    version: 1_793_498_400,
    ...overrides,
  });
}

describe('known-answer vectors', () => {
  it('Event-Sign over a recorded push body (UTF-8 bytes, Chinese shop name included)', () => {
    const independent = createHash('md5').update(`${CLIENT_ID}${RECORDED_BODY}${SECRET}`, 'utf8').digest('hex');
    expect(independent).toBe(EVENT_SIGN_KAV);
    expect(youzanEventSign(CLIENT_ID, Buffer.from(RECORDED_BODY, 'utf8'), SECRET)).toBe(EVENT_SIGN_KAV);
    expect(Buffer.byteLength(RECORDED_BODY, 'utf8')).toBe(445);
  });

  it('body sign over the still-encoded msg of the same push', () => {
    const independent = createHash('md5').update(`${CLIENT_ID}${RECORDED_MSG}${SECRET}`, 'utf8').digest('hex');
    expect(independent).toBe(BODY_SIGN_KAV);
    expect(youzanBodySign(CLIENT_ID, RECORDED_MSG, SECRET)).toBe(BODY_SIGN_KAV);
  });

  it('accepts the recorded body with the vector Event-Sign and decodes it', () => {
    // Its body sign was made with the shop's real secret, so it is dropped here: the header
    // alone authenticates the push (the docs' recommendation).
    const body = RECORDED_BODY.replace(',"sign":"4f4e7bcee79811e62a254968a83fc494"', '');
    const sign = youzanEventSign(CLIENT_ID, Buffer.from(body, 'utf8'), SECRET);
    const message = only(verifyYouzanPush(request(body, { 'event-sign': sign, 'event-type': 'trade_TradeSuccess', 'client-id': CLIENT_ID }), config, ctx));
    expect(message.messageId).toBe('dbda5478-76bf-4172-ac14-8d5ebac2002d');
    expect(message.type).toBe('trade_TradeSuccess');
    expect(message.occurredAt).toBe('2021-03-07T10:06:22.000Z'); // version 1615111582 s = 18:06:22 Beijing
    const payload = message.payload as YouzanPushPayload;
    expect(payload.msg).toStrictEqual({ update_time: '2021-03-07 18:06:22', tid: 'E20210307175649090904167' });
    expect(payload.kdt_id).toBe('13027865');
    expect(payload.kdt_name).toBe('开业啦商城');
  });

  it('accepts the recorded body with its sign once that sign matches the secret', () => {
    const body = RECORDED_BODY.replace('4f4e7bcee79811e62a254968a83fc494', BODY_SIGN_KAV);
    const sign = youzanEventSign(CLIENT_ID, Buffer.from(body, 'utf8'), SECRET);
    expect(only(verifyYouzanPush(request(body, { 'event-sign': sign }), config, ctx)).type).toBe('trade_TradeSuccess');
  });
});

describe('verifyYouzanPush: tampering', () => {
  it('accepts a push built like the platform’s', () => {
    const p = push();
    const message = only(verifyYouzanPush(request(p.body, p.headers), config, ctx));
    expect(message.messageId).toBe('a1d466ad-f9db-4a58-b805-f2a4dd65fa56');
    expect(message.test).toBeUndefined();
  });

  it('accepts the Event-Sign in upper case', () => {
    const p = push();
    const headers = { ...p.headers, 'event-sign': p.headers['event-sign']!.toUpperCase() };
    expect(only(verifyYouzanPush(request(p.body, headers), config, ctx)).type).toBe('trade_TradeSuccess');
  });

  it('rejects any single changed body byte', () => {
    const p = push();
    const bytes = Buffer.from(p.body, 'utf8');
    for (const index of [0, 10, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(thrown(() => verifyYouzanPush(request(tampered, p.headers), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    }
  });

  it('rejects re-serialized JSON (same content, other bytes)', () => {
    const p = push();
    const reserialized = JSON.stringify(JSON.parse(p.body) as unknown, null, 1);
    expect(thrown(() => verifyYouzanPush(request(reserialized, p.headers), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
  });

  it('rejects a changed, truncated or missing Event-Sign', () => {
    const p = push();
    const sign = p.headers['event-sign']!;
    const flipped = `${sign.slice(0, -1)}${sign.endsWith('0') ? '1' : '0'}`;
    for (const value of [flipped, sign.slice(0, 31), '', undefined]) {
      const error = thrown(() => verifyYouzanPush(request(p.body, { ...p.headers, 'event-sign': value }), config, ctx));
      expect(error.code).toBe('CONNECTOR_SIGNATURE_INVALID');
    }
  });

  it('rejects a push signed with another secret', () => {
    const p = push({ clientSecret: 'another-secret' });
    expect(thrown(() => verifyYouzanPush(request(p.body, p.headers), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
  });

  it('rejects a trade push whose body sign does not match its msg, even with a valid Event-Sign', () => {
    const p = push();
    const envelope = JSON.parse(p.body) as Record<string, unknown>;
    envelope['msg'] = String(envelope['msg']).replace('10%3A00%3A00', '11%3A00%3A00');
    const body = JSON.stringify(envelope);
    const headers = { ...p.headers, 'event-sign': youzanEventSign(CLIENT_ID, Buffer.from(body), SECRET) };
    const error = thrown(() => verifyYouzanPush(request(body, headers), config, ctx));
    expect(error.code).toBe('CONNECTOR_SIGNATURE_INVALID');
    expect(error.detail).toContain('body sign');
  });

  it('never accepts unsigned traffic, test messages included', () => {
    const p = push({ test: true });
    const { 'event-sign': _sign, ...unsigned } = p.headers;
    expect(thrown(() => verifyYouzanPush(request(p.body, unsigned), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
  });

  it('fails closed when the config has no secret', () => {
    const p = push();
    const noSecret = { ...config, clientSecret: '' };
    expect(thrown(() => verifyYouzanPush(request(p.body, p.headers), noSecret, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    expect(thrown(() => youzan.parseConfig({ clientId: CLIENT_ID, kdtId: KDT_ID })).code).toBe('CONNECTOR_CONFIG_INVALID');
  });

  it('rejects a push for another app, or whose headers contradict the body', () => {
    const other = buildYouzanPush({ clientId: 'ffffffffffffffffff', clientSecret: SECRET, kdtId: KDT_ID, type: 'trade_TradeSuccess', id: 'E1', msg: {} });
    // Signed with our secret but naming another client_id: the signature cannot match ours…
    expect(thrown(() => verifyYouzanPush(request(other.body, other.headers), config, ctx)).code).toBe('CONNECTOR_SIGNATURE_INVALID');
    // …and a body naming another client_id, signed under ours, is refused as invalid.
    const p = push();
    const body = p.body.replace(`"client_id":"${CLIENT_ID}"`, '"client_id":"ffffffffffffffffff"');
    const signed = { ...p.headers, 'event-sign': youzanEventSign(CLIENT_ID, Buffer.from(body), SECRET) };
    expect(thrown(() => verifyYouzanPush(request(body, signed), config, ctx)).code).toBe('MESSAGE_INVALID');
    expect(thrown(() => verifyYouzanPush(request(p.body, { ...p.headers, 'event-type': 'trade_TradeClose' }), config, ctx)).code).toBe('MESSAGE_INVALID');
    expect(thrown(() => verifyYouzanPush(request(p.body, { ...p.headers, 'client-id': 'other' }), config, ctx)).code).toBe('MESSAGE_INVALID');
  });

  it('rejects signed bodies that are not Youzan pushes, and other methods', () => {
    for (const body of ['not json', '[]', '{"kdt_id":1}', '{"type":"trade_TradeSuccess"}', '{"type":"x","kdt_id":1,"msg":"%7Bnot json"}']) {
      const headers = { 'event-sign': youzanEventSign(CLIENT_ID, Buffer.from(body), SECRET) };
      expect(thrown(() => verifyYouzanPush(request(body, headers), config, ctx)).code).toBe('MESSAGE_INVALID');
    }
    const p = push();
    expect(thrown(() => verifyYouzanPush(request(p.body, p.headers, 'GET'), config, ctx)).code).toBe('MESSAGE_INVALID');
  });
});

describe('replays and retries', () => {
  it('Youzan signs no time: a replayed push verifies again and carries the same message id (dedupe key)', () => {
    const p = push();
    const first = only(verifyYouzanPush(request(p.body, p.headers), config, ctx));
    const later = only(verifyYouzanPush(request(p.body, p.headers), config, { ...ctx, now: new Date('2027-01-01T00:00:00Z') }));
    expect(later.messageId).toBe(first.messageId);
  });

  it('a retry (higher sendCount, other bytes) keeps the msg_id', () => {
    const a = only(verifyYouzanPush(request(push().body, push().headers), config, ctx));
    const retry = push({ sendCount: 3 });
    const b = only(verifyYouzanPush(request(retry.body, retry.headers), config, ctx));
    expect(b.messageId).toBe(a.messageId);
  });

  it('without msg_id the id is a hash of the event, stable across retries and distinct per event', () => {
    const strip = (body: string) => body.replace(/"msg_id":"[^"]*",/, '');
    const ids = [push(), push({ sendCount: 2 }), push({ version: 1_793_498_401 })].map((p) => {
      const body = strip(p.body);
      return only(verifyYouzanPush(request(body, { 'event-sign': youzanEventSign(CLIENT_ID, Buffer.from(body), SECRET) }), config, ctx)).messageId;
    });
    expect(ids[0]).toMatch(/^yz-[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
  });
});

describe('message parsing', () => {
  it('decodes msg written with + or %20 for spaces, and keeps long integers exact', () => {
    const plus = messageFromPushBody('{"type":"trade_TradeSuccess","kdt_id":1,"msg":"%7B%22t%22%3A%222021-03-07+18%3A06%3A22%22%2C%22oid%22%3A2793339624048295999%7D"}');
    expect((plus.payload as YouzanPushPayload).msg).toStrictEqual({ t: '2021-03-07 18:06:22', oid: '2793339624048295999' });
    const pct = messageFromPushBody('{"type":"TRADE_ORDER_STATE","kdt_id":17284278,"msg":"%7B%22update_time%22:%222018-01-27%2017:31:41%22%7D"}');
    expect((pct.payload as YouzanPushPayload).msg).toStrictEqual({ update_time: '2018-01-27 17:31:41' });
  });

  it('takes an object msg as it is (youzan_trade_Refund* messages)', () => {
    const m = messageFromPushBody('{"type":"youzan_trade_RefundSuccess","kdt_id":"1","msg":{"tid":"E1","refund_id":"201907042058500000031002"}}');
    expect((m.payload as YouzanPushPayload).msg).toStrictEqual({ tid: 'E1', refund_id: '201907042058500000031002' });
  });

  it('flags test messages', () => {
    const p = push({ test: true });
    const message = only(verifyYouzanPush(request(p.body, p.headers), config, ctx));
    expect(message.test).toBe(true);
    expect(youzan.normalize(message, { config, connectorId: 'con_1' })).toStrictEqual([{ kind: 'ignored', reason: 'Youzan test message' }]);
  });

  it('maps version to milliseconds: seconds on trade messages, milliseconds on others', () => {
    expect(versionMillis('1615111582')).toBe('1615111582000');
    expect(versionMillis('1540977099498')).toBe('1540977099498');
    expect(versionMillis('x')).toBeUndefined();
    expect(versionIso('1540977099498')).toBe('2018-10-31T09:11:39.498Z');
    expect(versionIso('1')).toBe('1970-01-01T00:00:01.000Z');
    expect(versionIso('0')).toBeUndefined();
  });
});

describe('replies', () => {
  it('answers exactly what Youzan documents on success', () => {
    expect(YOUZAN_SUCCESS_REPLY).toStrictEqual({ status: 200, contentType: 'application/json; charset=utf-8', body: '{"code":0,"msg":"success"}' });
    expect(youzan.successReply).toBe(YOUZAN_SUCCESS_REPLY);
  });

  it('never says success on failure, so that Youzan retries', () => {
    for (const code of ['CONNECTOR_SIGNATURE_INVALID', 'MESSAGE_INVALID', 'INTERNAL', 'DB_UNAVAILABLE']) {
      const reply = youzanFailureReply(code);
      expect(reply.body).not.toContain('success');
      expect(reply.status).toBeGreaterThanOrEqual(400);
    }
    expect(youzanFailureReply('CONNECTOR_SIGNATURE_INVALID').status).toBe(401);
  });
});
