import type { PlatformMessage } from '../kit/connector.js';
import { idString, parseJsonKeepingBigInts } from './json.js';
import type { TaobaoMessagePayload, TmcMessage, TopTrade } from './payloads.js';
import { topTimeToIso } from './sign.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One element of `tmc_messages_consume_response.messages.tmc_message` (parsed with
 * parseJsonKeepingBigInts) as a PlatformMessage: `messageId` is TMC's id (the dedupe key and the
 * id to confirm), `type` the topic, `occurredAt` the pub_time, and `payload` the message with its
 * `content` JSON string parsed (ids kept exact; the raw string when it is not JSON). Undefined
 * for an element without an id or a topic (it could be neither stored nor confirmed).
 */
export function tmcMessageToPlatformMessage(raw: unknown): PlatformMessage | undefined {
  if (!isObj(raw)) return undefined;
  const m = raw as Partial<TmcMessage> & Obj;
  const id = idString(m.id);
  const topic = typeof m.topic === 'string' && m.topic !== '' ? m.topic : undefined;
  if (id === undefined || topic === undefined) return undefined;
  let content: TaobaoMessagePayload['content'] = typeof m.content === 'string' ? m.content : '';
  if (typeof m.content === 'string') {
    try {
      const parsed = parseJsonKeepingBigInts(m.content);
      if (isObj(parsed)) content = parsed;
    } catch {
      // Kept as the raw string: the message log shows it, normalize reports MESSAGE_INVALID.
    }
  }
  const userId = idString(m.user_id);
  const payload: TaobaoMessagePayload = {
    id,
    topic,
    ...(typeof m.pub_time === 'string' ? { pub_time: m.pub_time } : {}),
    ...(typeof m.pub_app_key === 'string' ? { pub_app_key: m.pub_app_key } : {}),
    ...(userId === undefined ? {} : { user_id: userId }),
    ...(typeof m.user_nick === 'string' ? { user_nick: m.user_nick } : {}),
    content,
  };
  const occurredAt = topTimeToIso(m.pub_time);
  return { messageId: id, type: topic, payload, ...(occurredAt === undefined ? {} : { occurredAt }) };
}

/** The message with the trade taobao.trade.fullinfo.get returned for it added to its payload (`trade`). */
export function withFetchedTrade(message: PlatformMessage, trade: TopTrade): PlatformMessage {
  const payload = { ...(message.payload as TaobaoMessagePayload), trade };
  return { ...message, payload };
}
