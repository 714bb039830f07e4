/**
 * What the simulator's pure generator produces: shoppers, orders as they stand at each step of
 * their lifecycle, and the deliveries to make, in the order to make them. Platform-neutral:
 * each platform's driver (drivers/*.ts) turns an order step into that platform's own push.
 */

export const COMMERCE_PLATFORMS = ['youzan', 'taobao', 'doudian', 'meituan'] as const;
export type CommercePlatform = (typeof COMMERCE_PLATFORMS)[number];

/** `mall`: the brand's WeChat mini-program mall (Segment /v1/batch + mini-program login). */
export const SIM_PLATFORMS = ['mall', ...COMMERCE_PLATFORMS] as const;
export type SimPlatform = (typeof SIM_PLATFORMS)[number];

/** AppIDs of the brand's two mini-programs: the mall, and the member centre (same WeChat open platform, so the same unionid). */
export const MALL_APP_ID = 'wx5d1f0e2a9b3c4d6e';
export const MEMBER_APP_ID = 'wx7a2c4e6f8b0d1e3f';

export interface MallAccount {
  /** The mall's own member id (Segment userId). */
  readonly memberId: string;
  /** Segment anonymousId of the device before login. */
  readonly anonymousId: string;
  /** openid under MALL_APP_ID. */
  readonly openid: string;
  /** Taps "get phone number" at login (getPhoneNumber) and types it in the profile. */
  readonly givesPhone: boolean;
  /** The phone as the shopper typed it in the profile ("138 1234 5678", "+86 138…"). */
  readonly typedPhone: string;
  /** openid under MEMBER_APP_ID when the shopper also uses the member centre (only with a unionid). */
  readonly memberCentreOpenid?: string;
}

/** A platform account whose orders carry a receiver phone. */
export interface PhoneAccount {
  /** E.164 of the number used on this platform: the shopper's own, or another one of theirs. */
  readonly phone: string;
  /** The platform gives the number in clear (Datong can link it); else masked (138****5678). */
  readonly phoneInClear: boolean;
}

export interface Shopper {
  readonly index: number;
  readonly name: string;
  /** The shopper's main mobile number, E.164 (+86…). */
  readonly phone: string;
  /** WeChat unionid, when the brand's apps are bound to one open platform account and the shopper used them. */
  readonly unionid?: string;
  readonly mall?: MallAccount;
  readonly youzan?: PhoneAccount & { readonly openId: string };
  readonly taobao?: PhoneAccount & { readonly openUid: string; readonly nick: string };
  readonly doudian?: { readonly openId: string };
  readonly meituan?: { readonly userId: string };
}

/**
 * One step of an order's life. `confirmed` is Meituan's 商家接单 (still paid). The refund steps
 * concern the order's one refund.
 */
export const ORDER_STEPS = [
  'created',
  'paid',
  'confirmed',
  'shipped',
  'completed',
  'refund_requested',
  'refund_approved',
  'refunded',
  'cancelled',
  'closed',
] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

export interface SimLine {
  readonly lineId: string;
  readonly productId: string;
  readonly skuId: string;
  readonly title: string;
  readonly quantity: number;
  /** Unit price in fen (exact). */
  readonly unitPriceFen: number;
  /** What the buyer pays for the line after its share of the order discount, fen. */
  readonly payFen: number;
}

export interface SimRefund {
  readonly refundId: string;
  /** The refunded line (after-sale) or every line (refund before shipping). */
  readonly lineId: string;
  readonly amountFen: number;
  readonly reason: string;
  readonly requestedAt: number;
  readonly approvedAt?: number;
  readonly refundedAt?: number;
}

/** An order as it stands after one step: immutable, one object per step. Times in epoch ms. */
export interface SimOrder {
  readonly platform: SimPlatform;
  readonly orderId: string;
  readonly shopper: number;
  /** The lifecycle this order follows, and how far along it is (index into `path`). */
  readonly path: readonly OrderStep[];
  readonly stepIndex: number;
  readonly lines: readonly SimLine[];
  readonly itemsFen: number;
  readonly shippingFen: number;
  readonly discountFen: number;
  /** itemsFen + shippingFen − discountFen. */
  readonly totalFen: number;
  readonly couponName?: string;
  readonly createdAt: number;
  readonly paidAt?: number;
  readonly confirmedAt?: number;
  readonly shippedAt?: number;
  readonly completedAt?: number;
  readonly cancelledAt?: number;
  readonly closedAt?: number;
  readonly refund?: SimRefund;
}

export type SimEvent =
  /** A Segment message from the mall (POST /v1/batch with the mall's write key). */
  | { readonly kind: 'segment'; readonly shopper: number; readonly message: Readonly<Record<string, unknown>> }
  /** wx.login in a mini-program, then (mall, givesPhone) getPhoneNumber: Datong's /v1/miniprogram endpoints. */
  | { readonly kind: 'wechat_login'; readonly shopper: number; readonly app: 'mall' | 'member'; readonly code: string; readonly phoneCode?: string }
  /** A platform message about one step of one order. `key` names the message (redeliveries keep it). */
  | { readonly kind: 'order'; readonly platform: CommercePlatform; readonly step: OrderStep; readonly order: SimOrder; readonly key: string };

export interface Delivery {
  /** 0, 1, 2… in sending order. */
  readonly seq: number;
  /** When it is due, epoch ms (start + seq / rate). */
  readonly dueAt: number;
  /** When the event happened on the platform, epoch ms (before dueAt for late and duplicate deliveries). */
  readonly at: number;
  /** A second delivery of an earlier one (the platform pushed again). */
  readonly duplicate: boolean;
  /** Delivered after a later step of the same order (out of order). */
  readonly late: boolean;
  readonly event: SimEvent;
}

/** Where an event goes: the mall, or a commerce platform. */
export function platformOf(event: SimEvent): SimPlatform {
  return event.kind === 'order' ? event.platform : 'mall';
}
