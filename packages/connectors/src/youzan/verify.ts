import { createHash } from 'node:crypto';
import { DatongError } from '@datong/core';
import type { InboundRequest, InboundResult, PlatformMessage, PlatformReply, VerifyContext } from '../kit/connector.js';
import { timingSafeEqualStr } from '../kit/crypto.js';
import { formDecode, parseJsonExact } from './codec.js';
import type { YouzanConfig } from './config.js';
import type { YouzanPushEnvelope } from './payloads.js';

/*
 * Verification of Youzan Cloud push messages (无容器应用 HTTP 推送). Pure: no I/O, no clock.
 *
 * Rules, from 消息推送接入 (https://doc.youzanyun.com/resource/develop-guide/41355/41536) and the
 * per-message pages (https://doc.youzanyun.com/detail/MSG/300, /302, /198, /209):
 * 1. Header `Event-Sign` = MD5(client_id + entity + client_secret), where entity is the request
 *    body as read from the input stream (the raw bytes, never re-serialized JSON). Hex, lower case.
 * 2. Body field `sign` = MD5(client_id + msg + client_secrect) on trade and refund messages, with
 *    `msg` exactly as it appears in the body (still UrlEncoded). The docs advise relying on
 *    Event-Sign; other message types document other formulas, so `sign` is checked only where
 *    this formula is documented, and only in addition to Event-Sign.
 * 3. `msg` is UrlEncode(UTF-8)'d JSON (trade, refund, SCRM messages) or a JSON object (the newer
 *    youzan_trade_Refund* messages).
 * 4. The answer Youzan expects on success is a body containing `success`; the docs recommend
 *    {"code":0,"msg":"success"}. Anything else (or no answer within 5 s) is retried.
 *
 * Youzan signs no send time or nonce, so there is no replay window: a replayed push carries the
 * same msg_id and is deduplicated on it (retries carry the same msg_id with a higher sendCount).
 */

/** MD5 hex of `clientId ‖ body ‖ clientSecret`, the value of the `Event-Sign` header. */
export function youzanEventSign(clientId: string, rawBody: Uint8Array, clientSecret: string): string {
  return createHash('md5').update(clientId, 'utf8').update(rawBody).update(clientSecret, 'utf8').digest('hex');
}

/** MD5 hex of `client_id ‖ msg ‖ client_secret`, the body `sign` of trade and refund messages. */
export function youzanBodySign(clientId: string, msg: string, clientSecret: string): string {
  return createHash('md5').update(`${clientId}${msg}${clientSecret}`, 'utf8').digest('hex');
}

/** Message types whose doc pages define the body `sign` as MD5(client_id + msg + client_secret). */
function bodySignDocumented(type: string): boolean {
  return type.startsWith('trade_');
}

/** What a verified push becomes: the envelope in Youzan's names, `msg` decoded, ids as strings. */
export interface YouzanPushPayload {
  readonly type: string;
  readonly kdt_id: string;
  readonly kdt_name?: string;
  readonly root_kdt_id?: string;
  readonly head_kdt_id?: string;
  /** The business id: order number (tid) for trade messages. */
  readonly id?: string;
  readonly status?: string;
  readonly msg_id?: string;
  /** `version` exactly as sent (digits). */
  readonly version?: string;
  readonly test: boolean;
  /** The decoded message body (an object; `{}` when the push had none). */
  readonly msg: Readonly<Record<string, unknown>>;
}

function invalid(detail: string): DatongError {
  return new DatongError('MESSAGE_INVALID', `Youzan push: ${detail}`, { meta: { platform: 'youzan' } });
}

function badSignature(detail: string): DatongError {
  return new DatongError('CONNECTOR_SIGNATURE_INVALID', `Youzan push: ${detail}`, { meta: { platform: 'youzan' } });
}

function idString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/**
 * Youzan's `version` in epoch milliseconds, as a decimal string: trade messages send seconds
 * (10 digits, equal to the order's update_time), SCRM messages milliseconds (13 digits). Values
 * of 11 digits or fewer are taken as seconds. Undefined when it is not a plain integer.
 */
export function versionMillis(version: unknown): string | undefined {
  const digits = typeof version === 'number' && Number.isSafeInteger(version) && version >= 0 ? String(version) : version;
  if (typeof digits !== 'string' || !/^\d{1,19}$/.test(digits)) return undefined;
  const trimmed = digits.replace(/^0+(?=\d)/, '');
  return trimmed.length <= 11 ? (trimmed === '0' ? '0' : `${trimmed}000`) : trimmed;
}

/** ISO instant of a millisecond version, when it is a plausible time (1970 … 9999). */
export function versionIso(version: unknown): string | undefined {
  const ms = versionMillis(version);
  if (ms === undefined || ms.length > 15) return undefined;
  const n = Number(ms);
  if (!Number.isSafeInteger(n) || n <= 0 || n > 253_402_300_799_000) return undefined;
  return new Date(n).toISOString();
}

function decodeMsg(msg: unknown): Readonly<Record<string, unknown>> {
  if (msg === undefined || msg === null || msg === '') return {};
  if (typeof msg === 'object' && !Array.isArray(msg)) return msg as Record<string, unknown>;
  if (typeof msg !== 'string') throw invalid('msg is neither a string nor an object');
  let decoded: unknown;
  try {
    decoded = parseJsonExact(formDecode(msg));
  } catch {
    throw invalid('msg is not UrlEncoded JSON');
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalid('msg is not a JSON object');
  return decoded as Record<string, unknown>;
}

function stableMessageId(p: { type: string; kdt_id: string; id?: string; version?: string; status?: string }): string {
  // No msg_id (older message types): the identity of the event, not of the request — the raw
  // body changes between retries (sendCount), so it cannot be the key.
  const key = [p.type, p.kdt_id, p.id ?? '', p.version ?? '', p.status ?? ''].join('\n');
  return `yz-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

function readEnvelope(rawBody: Uint8Array | string): YouzanPushEnvelope & Record<string, unknown> {
  const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  let parsed: unknown;
  try {
    parsed = parseJsonExact(text);
  } catch {
    throw invalid('body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('body is not a JSON object');
  return parsed as YouzanPushEnvelope & Record<string, unknown>;
}

/**
 * Parses a push body into its platform message, without checking any signature. `verify` calls
 * it after the signatures pass; fixture tests and the message log's replay call it on stored
 * bodies. Throws MESSAGE_INVALID when the body is not a Youzan push.
 */
export function messageFromPushBody(rawBody: Uint8Array | string): PlatformMessage {
  return messageFromEnvelope(readEnvelope(rawBody));
}

function messageFromEnvelope(body: YouzanPushEnvelope & Record<string, unknown>): PlatformMessage {
  const type = typeof body.type === 'string' ? body.type.trim() : '';
  if (type === '') throw invalid('type is missing');
  const kdtId = idString(body.kdt_id);
  if (kdtId === undefined) throw invalid('kdt_id is missing');

  const optional = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
    value === undefined ? {} : ({ [key]: value } as Record<K, string>);
  const version = idString(body.version);
  const status = typeof body.status === 'string' && body.status !== '' ? body.status : undefined;
  const id = idString(body.id);
  const payload: YouzanPushPayload = {
    type,
    kdt_id: kdtId,
    ...optional('kdt_name', typeof body.kdt_name === 'string' ? body.kdt_name : undefined),
    ...optional('root_kdt_id', idString(body.root_kdt_id)),
    ...optional('head_kdt_id', idString(body.head_kdt_id)),
    ...optional('id', id),
    ...optional('status', status),
    ...optional('msg_id', idString(body.msg_id)),
    ...optional('version', version),
    test: body.test === true,
    msg: decodeMsg(body.msg),
  };

  const occurredAt = versionIso(version);
  return {
    messageId: payload.msg_id ?? stableMessageId(payload),
    type,
    payload,
    ...(occurredAt === undefined ? {} : { occurredAt }),
    ...(payload.test ? { test: true } : {}),
  };
}

function header(req: InboundRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

/**
 * Verifies a Youzan push over its raw bytes and returns its one message. Fails closed: a push
 * without `Event-Sign`, or whose signature does not match, is rejected with
 * CONNECTOR_SIGNATURE_INVALID whatever it claims (test messages included).
 *
 * @example
 * const result = verifyYouzanPush(req, config, { now, publicUrl });
 * if (result.kind === 'messages') store(result.messages[0]); // reply youzan.successReply
 */
export function verifyYouzanPush(req: InboundRequest, config: YouzanConfig, _ctx: VerifyContext): InboundResult {
  if (config.clientSecret === '') throw badSignature('no client_secret configured');
  if (req.method.toUpperCase() !== 'POST') throw invalid(`method ${req.method} (Youzan pushes with POST)`);

  const given = header(req, 'event-sign');
  if (given === undefined || given === '') throw badSignature('Event-Sign header is missing');
  const expected = youzanEventSign(config.clientId, req.rawBody, config.clientSecret);
  if (!timingSafeEqualStr(given.toLowerCase(), expected)) throw badSignature('Event-Sign does not match');

  const body = readEnvelope(req.rawBody);
  const message = messageFromEnvelope(body);

  if (body.client_id !== undefined && String(body.client_id) !== config.clientId) {
    throw invalid('client_id is not this connector’s app');
  }
  const clientIdHeader = header(req, 'client-id');
  if (clientIdHeader !== undefined && clientIdHeader !== '' && clientIdHeader !== config.clientId) {
    throw invalid('Client-Id header is not this connector’s app');
  }
  const eventType = header(req, 'event-type');
  if (eventType !== undefined && eventType !== '' && eventType !== message.type) {
    throw invalid('Event-Type header and body type differ');
  }
  if (bodySignDocumented(message.type) && typeof body.msg === 'string' && typeof body.sign === 'string' && body.sign !== '') {
    const bodySign = youzanBodySign(config.clientId, body.msg, config.clientSecret);
    if (!timingSafeEqualStr(body.sign.trim().toLowerCase(), bodySign)) throw badSignature('body sign does not match msg');
  }
  return { kind: 'messages', messages: [message] };
}

const JSON_UTF8 = 'application/json; charset=utf-8';

/** The answer Youzan documents for a received push. */
export const YOUZAN_SUCCESS_REPLY: PlatformReply = Object.freeze({
  status: 200,
  contentType: JSON_UTF8,
  body: '{"code":0,"msg":"success"}',
});

/**
 * The answer for a rejected push. Youzan treats any answer without `success` in its body as a
 * failure and retries (then keeps the message for manual re-push for 7 days), so a push refused
 * for a wrong secret can be recovered once the config is fixed.
 */
export function youzanFailureReply(code: string): PlatformReply {
  const status = code === 'CONNECTOR_SIGNATURE_INVALID' ? 401 : code === 'MESSAGE_INVALID' ? 400 : 500;
  return { status, contentType: JSON_UTF8, body: JSON.stringify({ code: status, msg: `failed: ${code}` }) };
}
