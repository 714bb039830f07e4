import { createHash } from 'node:crypto';
import type { PlatformMessage } from '../kit/connector.js';
import type { MeituanPushPayload, MeituanPushType } from './payloads.js';
import { isoFromSeconds, present } from './values.js';

/*
 * Meituan sends each kind of push to its own URL (开发者中心: 推送已支付订单URL, 推送已确认订单URL,
 * 推送已完成订单URL, 推送取消订单URL, 推送全额退款URL, 推送部分退款URL, 推送退款状态URL, 美团配送状态URL…)
 * and the push carries no "type" field. Datong has one webhook URL per connector, so the merchant
 * pastes the same URL into each field and the kind is recognised from the parameters each push
 * documents. Nothing here is guessed from values that are absent: unrecognised pushes are `unknown`
 * (logged, acknowledged, ignored by the normalizer).
 */

const has = (p: MeituanPushPayload, name: string): boolean => present(p[name]) !== undefined;

/** Which push a parameter set is. Pure. */
export function classifyMeituanPush(p: MeituanPushPayload): MeituanPushType {
  if (has(p, 'refund_status')) return 'refund_status';
  if (has(p, 'notify_type')) {
    // Partial refunds carry the refunded amount and items; full refunds carry neither.
    return p['notify_type'] === 'part' || has(p, 'food') || has(p, 'money') ? 'part_refund' : 'refund_order';
  }
  const fullOrder = has(p, 'detail') || has(p, 'total') || has(p, 'wm_order_id_view');
  if (!fullOrder) {
    if (has(p, 'refund_id') && (has(p, 'res_type') || has(p, 'is_appeal') || has(p, 'service_type') || has(p, 'status'))) {
      // Stores with 退货退款 receive full-refund pushes without notify_type (status instead).
      return 'refund_order';
    }
    if (has(p, 'logistics_status')) return 'logistics_status';
    if (has(p, 'reason_code') || has(p, 'deal_op_type')) return 'cancel_order';
    return 'unknown';
  }
  switch (p['status']) {
    case '1':
    case '2':
    case '3':
      return 'paid_order';
    case '4':
      return 'confirmed_order';
    case '5':
    case '6':
    case '7':
      return 'delivering_order';
    case '8':
      return 'completed_order';
    case '9':
      return 'cancelled_order';
    default:
      return 'order';
  }
}

/**
 * A stable id for a push: Meituan's pushes have no message id, and a push Meituan retries may be
 * signed again with a new timestamp. So the id hashes the push kind and every parameter except
 * `sig` and `timestamp`: the same content twice is the same message (one effect), whatever time
 * it was sent at.
 */
export function meituanMessageId(type: MeituanPushType, p: MeituanPushPayload): string {
  const lines = Object.entries(p)
    .filter(([name]) => name !== 'sig' && name !== 'timestamp')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  const hash = createHash('sha256').update(`${type}\n${lines.join('\n')}`, 'utf8').digest('hex');
  return `mt_${hash.slice(0, 40)}`;
}

/** The PlatformMessage of a verified push (parameters without `sig`). Pure. */
export function meituanMessageFromParams(params: MeituanPushPayload): PlatformMessage {
  const payload: Record<string, string> = Object.fromEntries(Object.entries(params).filter(([name]) => name !== 'sig'));
  const type = classifyMeituanPush(payload);
  const occurredAt =
    isoFromSeconds(payload['utime']) ?? isoFromSeconds(payload['timestamp']) ?? isoFromSeconds(payload['ctime']);
  return {
    messageId: meituanMessageId(type, payload),
    type,
    payload,
    ...(occurredAt === undefined ? {} : { occurredAt }),
  };
}
