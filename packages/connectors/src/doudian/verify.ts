import { createHash, createHmac } from 'node:crypto';
import { DatongError } from '@datong/core';
import type { InboundRequest, InboundResult, PlatformMessage, PlatformReply } from '../kit/connector.js';
import { timingSafeEqualStr } from '../kit/crypto.js';
import type { DoudianConfig } from './config.js';
import { parseJsonLossless } from './json.js';
import { asRecord, idOf, isoOfPlatformTime } from './values.js';

/*
 * Push verification (消息推送服务接入指南, https://op.jinritemai.com/docs/guide-docs/215/1977;
 * the official SDK's message handling as vendored in zsmhub/doudian-sdk message/doudian_sign.go,
 * and minibear2021/doudian core.py `callback`):
 *
 * - POST, body = a JSON array of {tag, msg_id, data}; `data` is itself a JSON string.
 * - Header `app-id`: the app's App Key. Header `event-sign`: lower-case hex of
 *     md5(app_key + raw body + app_secret)
 *   over the raw body bytes exactly as received.
 * - Header `sign-method` (newer pushes): "md5" (the default when absent) or "hmac-sha256", which
 *   uses HMAC-SHA256 keyed with app_secret over the same concatenation. Any other value is
 *   refused (fail closed).
 * - tag "0" is the check the platform sends when the push URL is saved: answered with the
 *   success reply, nothing stored.
 * - The push signs no timestamp or nonce, so there is no replay window here: duplicates are
 *   removed by msg_id downstream, and order state only moves forward by the platform's times.
 * - Success reply: HTTP 200 `{"code":0,"msg":"success"}`; anything else makes the platform retry.
 */

export const DOUDIAN_SUCCESS_REPLY: PlatformReply = Object.freeze({
  status: 200,
  contentType: 'application/json',
  body: '{"code":0,"msg":"success"}',
});

export type PushSignMethod = 'md5' | 'hmac-sha256';

/** The tag of the address check the platform sends when the push URL is configured. */
export const DOUDIAN_CHECK_TAG = '0';

/** Largest push body accepted (the platform batches messages; real bodies are a few KB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function concat(appKey: string, rawBody: Uint8Array, appSecret: string): Buffer {
  return Buffer.concat([Buffer.from(appKey, 'utf8'), rawBody, Buffer.from(appSecret, 'utf8')]);
}

/**
 * The `event-sign` the platform puts on a push body, lower-case hex.
 *
 * @example
 * computeEventSign('7001234567890123456', Buffer.from('[]'), 'secret') // md5('7001234567890123456[]secret')
 */
export function computeEventSign(
  appKey: string,
  rawBody: Uint8Array,
  appSecret: string,
  method: PushSignMethod = 'md5',
): string {
  if (appSecret === '') throw new DatongError('CONNECTOR_CONFIG_INVALID', 'Douyin shop App Secret is empty');
  const data = concat(appKey, rawBody, appSecret);
  return method === 'md5'
    ? createHash('md5').update(data).digest('hex')
    : createHmac('sha256', appSecret).update(data).digest('hex');
}

function signatureInvalid(reason: string): DatongError {
  return new DatongError('CONNECTOR_SIGNATURE_INVALID', `Douyin shop push: ${reason}`, {
    meta: { platform: 'doudian' },
  });
}

function messageInvalid(reason: string): DatongError {
  return new DatongError('MESSAGE_INVALID', `Douyin shop push: ${reason}`, { meta: { platform: 'doudian' } });
}

/** Checks headers and signature over the raw bytes. Throws CONNECTOR_SIGNATURE_INVALID. */
export function verifyPushSignature(req: InboundRequest, config: Pick<DoudianConfig, 'appKey' | 'appSecret'>): void {
  if (typeof config.appSecret !== 'string' || config.appSecret === '') {
    // Fail closed: without the secret nothing can be verified, so nothing is accepted.
    throw signatureInvalid('connector has no App Secret');
  }
  if (req.method.toUpperCase() !== 'POST') throw signatureInvalid(`method ${req.method} is not POST`);
  const appId = req.headers['app-id'];
  if (appId !== undefined && appId.trim() !== config.appKey) throw signatureInvalid('app-id header is another app');
  const given = req.headers['event-sign']?.trim().toLowerCase();
  if (given === undefined || given === '') throw signatureInvalid('event-sign header missing');
  const methodHeader = req.headers['sign-method']?.trim().toLowerCase();
  let method: PushSignMethod;
  if (methodHeader === undefined || methodHeader === '' || methodHeader === 'md5') method = 'md5';
  else if (methodHeader === 'hmac-sha256') method = 'hmac-sha256';
  else throw signatureInvalid('unsupported sign-method');
  const expected = computeEventSign(config.appKey, req.rawBody, config.appSecret, method);
  if (!timingSafeEqualStr(given, expected)) throw signatureInvalid('event-sign does not match');
}

const TIME_FIELDS = [
  'update_time',
  'create_time',
  'pay_time',
  'complete_time',
  'cancel_time',
  'apply_time',
  'agree_time',
  'refuse_time',
  'success_time',
  'close_time',
  'modify_time',
] as const;

function occurredAtOf(payload: unknown): string | undefined {
  const record = asRecord(payload);
  if (record === undefined) return undefined;
  // The most specific event time wins over the generic update_time.
  for (const field of [...TIME_FIELDS.slice(1), TIME_FIELDS[0]]) {
    const iso = isoOfPlatformTime(record[field]);
    if (iso !== undefined) return iso;
  }
  return undefined;
}

function tagOf(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d{1,6}$/.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

function messageIdOf(value: unknown, tag: string, data: string): string {
  const id = typeof value === 'string' ? value.trim() : idOf(value);
  if (id !== undefined && id !== '') return id;
  // No msg_id: a stable hash of the message keeps duplicates recognisable.
  return `sha256:${createHash('sha256').update(`${tag}\n${data}`, 'utf8').digest('hex')}`;
}

/**
 * Verifies a push over its raw bytes and splits it into messages. A push made only of tag "0"
 * messages is the URL check: a handshake answered with the success reply. Pure.
 */
export function verifyDoudianPush(req: InboundRequest, config: Pick<DoudianConfig, 'appKey' | 'appSecret'>): InboundResult {
  if (req.rawBody.length > MAX_BODY_BYTES) throw messageInvalid('body is larger than 4 MiB');
  verifyPushSignature(req, config);

  let parsed: unknown;
  try {
    parsed = parseJsonLossless(req.rawBody.toString('utf8'));
  } catch (cause) {
    throw new DatongError('MESSAGE_INVALID', 'Douyin shop push body is not JSON', { cause, meta: { platform: 'doudian' } });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw messageInvalid('body is not a non-empty JSON array');

  const messages: PlatformMessage[] = parsed.map((element, index) => {
    const record = asRecord(element);
    if (record === undefined) throw messageInvalid(`element ${index} is not an object`);
    const tag = tagOf(record['tag']);
    if (tag === undefined) throw messageInvalid(`element ${index} has no tag`);
    const rawData = record['data'];
    let dataText: string;
    let payload: unknown;
    if (typeof rawData === 'string') {
      dataText = rawData;
      try {
        payload = rawData.trim() === '' ? {} : parseJsonLossless(rawData);
      } catch (cause) {
        throw new DatongError('MESSAGE_INVALID', `Douyin shop push: element ${index} data is not JSON`, {
          cause,
          meta: { platform: 'doudian', tag },
        });
      }
    } else if (asRecord(rawData) !== undefined) {
      // Tolerated: some check pushes carry data as an object rather than a string.
      payload = rawData;
      dataText = JSON.stringify(rawData);
    } else if (tag === DOUDIAN_CHECK_TAG) {
      payload = {};
      dataText = '';
    } else {
      throw messageInvalid(`element ${index} has no data`);
    }
    const occurredAt = occurredAtOf(payload);
    const message: PlatformMessage = {
      messageId: messageIdOf(record['msg_id'], tag, dataText),
      type: tag,
      payload,
      ...(occurredAt === undefined ? {} : { occurredAt }),
      ...(tag === DOUDIAN_CHECK_TAG ? { test: true } : {}),
    };
    return message;
  });

  if (messages.every((m) => m.test === true)) return { kind: 'handshake', reply: DOUDIAN_SUCCESS_REPLY };
  return { kind: 'messages', messages };
}

/**
 * The answer to a rejected push. The platform treats anything but `{"code":0,…}` as a failure
 * and pushes again later; the HTTP status tells Datong's logs what happened.
 */
export function doudianFailureReply(code: string): PlatformReply {
  const status = code === 'CONNECTOR_SIGNATURE_INVALID' ? 401 : code === 'MESSAGE_INVALID' ? 400 : 500;
  return {
    status,
    contentType: 'application/json',
    body: JSON.stringify({ code: status, msg: code === 'CONNECTOR_SIGNATURE_INVALID' ? 'invalid sign' : 'fail' }),
  };
}
