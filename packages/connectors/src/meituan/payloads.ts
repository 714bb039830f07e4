/*
 * Meituan waimai / 闪购 open-platform payloads, in Meituan's own field names.
 *
 * Pushes arrive as form fields (application/x-www-form-urlencoded POST, or query parameters of a
 * GET), so every value is a string. JSON values inside them (`detail`, `extras`, …) and API
 * answers are read with the lossless parser (json.ts): their numbers are strings too, holding the
 * exact source text. Unknown fields are allowed (Meituan adds fields through 订单订阅字段) and kept
 * in the message log, but never read.
 *
 * Sources (field lists and meanings; see fixtures/README.md for dates):
 * - 推送已支付订单  https://open-shangou.meituan.com/home/docDetail/174
 * - 推送已确认订单  https://open-shangou.meituan.com/home/docDetail/177
 * - 推送用户或客服取消订单  https://open-shangou.meituan.com/home/docDetail/201
 * - 推送全额退款信息  https://open-shangou.meituan.com/home/docDetail/204
 * - 推送退款状态  https://open-shangou.meituan.com/home/docDetail/502
 * - 获取订单详细信息 order/getOrderDetail  https://open-shangou.meituan.com/home/docDetail/135
 * - 根据流水号获取订单ID（分段）ecommerce/order/getOrderIdByDaySeq  https://open-shangou.meituan.com/home/docDetail/341
 * - field lists as transcribed by the public SDKs kuangcao/meituanwaimai-sdk and easynet-cn/go-meituan
 */

/** System parameters of every push and every API call. */
export interface MeituanSystemParams {
  /** The app's id, as issued by the open platform. */
  readonly app_id: string;
  /** Seconds since the epoch, 10 digits. Signed, so it bounds replays. */
  readonly timestamp: string;
  /** md5(url + "?" + sorted k=v joined by & + app_secret), lower-case hex. */
  readonly sig: string;
}

/**
 * 推送已支付订单 / 推送已确认订单 / 推送已完成订单, and the `data` of order/getOrderDetail: one order.
 * Amounts are yuan (元) as decimal text; times are epoch seconds.
 */
export interface MeituanOrderParams {
  /** 订单号 (同订单展示ID). Up to 19 digits: never a JS number. */
  readonly order_id: string;
  readonly wm_order_id_view?: string;
  /** APP方门店id: the store's code in the merchant's system. */
  readonly app_poi_code?: string;
  readonly wm_poi_name?: string;
  readonly wm_poi_address?: string;
  readonly wm_poi_phone?: string;
  readonly recipient_address?: string;
  /** Receiver's name, with the gender the user picked (e.g. "张(先生)"). */
  readonly recipient_name?: string;
  /**
   * Receiver's phone: a real number, a masked one (138****5678) or a privacy number
   * (13812345678_1234, 隐私号). Datong keeps it as given and never uses it as an identifier.
   */
  readonly recipient_phone?: string;
  /** JSON list of backup privacy numbers, "[]" when none. */
  readonly backup_recipient_phone?: string;
  /** 门店配送费 in yuan, before shipping discounts. */
  readonly shipping_fee?: string;
  /** What the user paid online in yuan, packaging and shipping included. */
  readonly total?: string;
  /** Total before every discount, in yuan. */
  readonly original_price?: string;
  readonly caution?: string;
  /** 1 用户已提交订单, 2 向商家推送订单, 3 商家已收到, 4 商家已确认, 6 已配送, 7 已送达, 8 已完成, 9 已取消. */
  readonly status?: string;
  /** Created (user submitted the order), epoch seconds. */
  readonly ctime?: string;
  /** Last order or delivery status change, epoch seconds: the ordering key of updates. */
  readonly utime?: string;
  readonly delivery_time?: string;
  readonly pay_type?: string;
  readonly pick_type?: string;
  readonly day_seq?: string;
  readonly logistics_code?: string;
  /** JSON list of {@link MeituanOrderDetailItem}. Some integrations receive it URL-encoded once more. */
  readonly detail?: string;
  /** JSON list of {@link MeituanOrderExtra}; "[{}]" when the order has no discount. */
  readonly extras?: string;
  readonly poi_receive_detail?: string;
  readonly poi_receive_detail_yuan?: string;
  /** JSON {@link MeituanUserMemberInfo}, only for stores with Meituan membership (闪购). */
  readonly user_member_info?: string;
  /** 开放平台用户id, when the app subscribes to it. A stable Meituan user id: `meituan_user_id`. */
  readonly user_id?: string;
  /** getOrderDetail only: payment, confirmation, completion and cancellation times, epoch seconds. */
  readonly order_send_time?: string;
  readonly order_confirm_time?: string;
  readonly order_completed_time?: string;
  readonly order_cancel_time?: string;
}

/** One line of `detail`. */
export interface MeituanOrderDetailItem {
  readonly app_food_code?: string;
  readonly food_name?: string;
  readonly sku_id?: string;
  readonly quantity?: string;
  /** Unit price in yuan (商品单价). */
  readonly price?: string;
  readonly box_num?: string;
  readonly box_price?: string;
  readonly unit?: string;
  readonly food_discount?: string;
  readonly spec?: string;
  readonly food_property?: string;
  readonly cart_id?: string;
}

/** One discount of `extras`. */
export interface MeituanOrderExtra {
  readonly act_detail_id?: string;
  /** Discount given to the user, in yuan (Meituan's and the merchant's share together). */
  readonly reduce_fee?: string;
  readonly mt_charge?: string;
  readonly poi_charge?: string;
  readonly remark?: string;
  /** 优惠活动类型: 2 满减, 9 使用优惠券, 101 使用商家优惠券, … */
  readonly type?: string;
}

export interface MeituanUserMemberInfo {
  readonly is_poi_member?: boolean | string;
  readonly card_code?: string;
  readonly level_code?: string;
  readonly poi_member_id?: string;
}

/** 推送用户或客服取消订单. Carries no amounts. */
export interface MeituanCancelParams {
  readonly order_id: string;
  readonly reason_code?: string;
  readonly reason?: string;
  /** 1 用户, 2 商家端, 3 客服, 4 BD, 5 系统, 6 开放平台. */
  readonly deal_op_type?: string;
}

/** 推送全额退款信息 and 推送部分退款信息. */
export interface MeituanRefundParams {
  readonly order_id: string;
  /** Full refund: apply, agree, reject, cancelRefund, cancelRefundComplaint. Partial: part, agree, reject. */
  readonly notify_type?: string;
  readonly refund_id?: string;
  readonly ctime?: string;
  readonly reason?: string;
  /** 0 等待处理, 1 商家驳回, 2 商家同意, 3 客服驳回, 4 客服帮商家同意, 5 超时自动同意, 6 系统自动确认, 7 用户取消, 8 用户取消申诉. */
  readonly res_type?: string;
  readonly is_appeal?: string;
  readonly pictures?: string;
  readonly service_type?: string;
  /** Stores with 退货退款: 1 已申请, 10/17/21/27 同意, 11/18/22/28 驳回, 16/26 申诉, 20 用户已发货, 30 已取消. */
  readonly status?: string;
  readonly apply_op_user_type?: string;
  /** Partial refunds: the amount in yuan. */
  readonly money?: string;
  /** Partial refunds: JSON list of the refunded items. */
  readonly food?: string;
}

/** 推送退款状态: the refund's money movement. */
export interface MeituanRefundStatusParams {
  readonly order_id: string;
  readonly refund_id?: string;
  /** 3 全额退款成功, 4 全额退款失败, 13 部分退款成功, 14 部分退款失败. */
  readonly refund_status: string;
  readonly money?: string;
  readonly ctime?: string;
  readonly utime?: string;
}

/** 推送美团配送状态. */
export interface MeituanLogisticsParams {
  readonly order_id: string;
  readonly logistics_status: string;
  readonly time?: string;
  readonly dispatcher_name?: string;
  readonly dispatcher_mobile?: string;
}

/**
 * The push kinds Datong tells apart, named after the push URLs of the Meituan developer centre
 * (开发者中心 → 推送订阅), which Datong receives on one URL and recognises by their parameters.
 */
export const MEITUAN_PUSH_TYPES = [
  'paid_order',
  'confirmed_order',
  'delivering_order',
  'completed_order',
  'cancelled_order',
  'order',
  'cancel_order',
  'refund_order',
  'part_refund',
  'refund_status',
  'logistics_status',
  'unknown',
] as const;
export type MeituanPushType = (typeof MEITUAN_PUSH_TYPES)[number];

/** The payload of a Meituan PlatformMessage: the push parameters, form-decoded once, without `sig`. */
export type MeituanPushPayload = Readonly<Record<string, string>>;

/** A failed API answer: `{"data":"ng","error":{"code":N,"msg":"…"}}`. */
export interface MeituanApiErrorAnswer {
  readonly data: 'ng';
  readonly error: { readonly code: string; readonly msg?: string };
}
