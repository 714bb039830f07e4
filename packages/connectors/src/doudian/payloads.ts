/*
 * Douyin shop (抖店) payloads in the platform's own field names. Unknown fields are allowed
 * (the platform adds fields without notice). Every id may arrive as a JSON number above 2^53;
 * `parseJsonLossless` (json.ts) keeps those as decimal strings, so ids are typed `DoudianId`
 * and read through `idOf` in the normalizer, never through arithmetic.
 *
 * Sources (stored copies consulted 2026-11; the op.jinritemai.com pages themselves were not in
 * the stored corpus, so the field lists follow the official Go SDK doudian-sdk-golang-1.1.0
 * as vendored in github.com/zsmhub/doudian-sdk, whose message structs cite each doc page):
 * - 消息推送服务接入指南: https://op.jinritemai.com/docs/guide-docs/215/1977
 * - 订单消息 (tag 100-110): https://op.jinritemai.com/docs/message-docs/30/109 … /30/277
 * - 售后消息 (tag 200-208): https://op.jinritemai.com/docs/message-docs/31/115 … /31/230
 * - order.searchList: https://op.jinritemai.com/docs/api-docs/15/1342
 * - order.orderDetail: https://op.jinritemai.com/docs/api-docs/15/1343
 * - token.create / token.refresh: https://op.jinritemai.com/docs/api-docs/162/1600 , /162/1601
 * - 平台基础错误码汇总: https://op.jinritemai.com/docs/guide-docs/212/1427
 */

/** An id as received: a number when it is small, the exact digits when it exceeds 2^53. */
export type DoudianId = string | number;

/** One element of a push body (the body is a JSON array of these). */
export interface DoudianPushEnvelope {
  /** Message type: "0" (address check), "100" (trade created), "206" (refund success)… */
  readonly tag: string;
  readonly msg_id: string;
  /** The message itself, as a JSON string. */
  readonly data: string;
}

/** Fields shared by the order messages (tags 100-110). Times are Unix seconds. */
export interface DoudianTradeMessageBase {
  /** Parent (shop) order id. */
  readonly p_id: DoudianId;
  /** Child (sku) order ids. */
  readonly s_ids?: readonly DoudianId[];
  readonly shop_id: DoudianId;
  readonly order_status?: number;
  readonly order_type?: number;
  readonly biz?: number;
}

/** tag 100 订单创建消息 */
export interface DoudianTradeCreate extends DoudianTradeMessageBase {
  readonly create_time: number;
}

/** tag 101 订单支付/确认消息; pay_amount in fen. */
export interface DoudianTradePaid extends DoudianTradeMessageBase {
  readonly pay_time: number;
  readonly pay_amount?: number;
  readonly pay_type?: number;
}

/** tag 102 卖家发货消息 / tag 108 卖家部分发货消息 */
export interface DoudianTradeSellerShip extends DoudianTradeMessageBase {
  readonly update_time: number;
  readonly logistics_msg?: { readonly express_company_id?: string; readonly logistics_code?: string };
  /** Receiver as the platform gives it in the message (masked or encrypted). */
  readonly receiver_msg?: { readonly addr?: string; readonly name?: string; readonly tel?: string };
}

/** tag 103 交易完成消息 */
export interface DoudianTradeSuccess extends DoudianTradeMessageBase {
  readonly complete_time: number;
}

/** tag 106 订单取消消息 */
export interface DoudianTradeCanceled extends DoudianTradeMessageBase {
  readonly cancel_time: number;
  readonly cancel_reason?: string;
}

/** tag 110 订单已支付待处理 */
export type DoudianTradePending = DoudianTradeMessageBase;

/** Fields shared by the after-sale messages (tags 200-208). Amounts in fen. */
export interface DoudianRefundMessage {
  readonly aftersale_id: DoudianId;
  readonly aftersale_status?: number;
  /** 0 退货退款, 1 已发货仅退款, 2 未发货仅退款, 3 换货… */
  readonly aftersale_type?: number;
  readonly p_id: DoudianId;
  readonly s_id?: DoudianId;
  readonly shop_id: DoudianId;
  readonly reason_code?: number;
  readonly refund_amount?: number;
  readonly refund_post_amount?: number;
  readonly refund_voucher_num?: number;
  /** The per-tag event time: apply_time (200), agree_time (201), refuse_time (204/205), success_time (206), close_time (207), modify_time (208). */
  readonly apply_time?: number;
  readonly agree_time?: number;
  readonly refuse_time?: number;
  readonly success_time?: number;
  readonly close_time?: number;
  readonly modify_time?: number;
  /** Seconds or a date-time string, depending on the message version. */
  readonly update_time?: number | string;
}

/** Every Open API answer (with the `x-open-no-old-err-code: 1` header the SDKs send). */
export interface DoudianApiResponse<T> {
  /** 10000 = success. */
  readonly code: number;
  readonly msg: string;
  readonly sub_code?: string;
  readonly sub_msg?: string;
  readonly log_id?: string;
  readonly data?: T;
  /** Older answers: 0 = success. */
  readonly err_no?: number;
  readonly message?: string;
}

/** token.create / token.refresh `data`. */
export interface DoudianTokenData {
  readonly access_token: string;
  /** Seconds. */
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly scope?: string;
  readonly shop_id?: DoudianId;
  readonly shop_name?: string;
}

export interface DoudianRegion {
  readonly name?: string;
  readonly id?: string;
}

export interface DoudianPostAddr {
  readonly province?: DoudianRegion;
  readonly city?: DoudianRegion;
  readonly town?: DoudianRegion;
  readonly street?: DoudianRegion;
  readonly detail?: string;
  readonly encrypt_detail?: string;
}

export interface DoudianCouponInfo {
  readonly coupon_id?: DoudianId;
  readonly coupon_type?: number;
  readonly coupon_name?: string;
  /** Fen. */
  readonly coupon_amount?: number;
}

export interface DoudianFullDiscountInfo {
  readonly campaign_id?: DoudianId;
  readonly campaign_type?: number;
  readonly campaign_name?: string;
  /** Fen. */
  readonly campaign_amount?: number;
}

export interface DoudianDiscountDetail {
  readonly total_amount?: number;
  readonly coupon_info?: readonly DoudianCouponInfo[];
  readonly full_discount_info?: readonly DoudianFullDiscountInfo[];
  readonly redpack_amount?: number;
}

export interface DoudianPromotionDetail {
  readonly shop_discount_detail?: DoudianDiscountDetail;
  readonly platform_discount_detail?: DoudianDiscountDetail;
  readonly kol_discount_detail?: DoudianDiscountDetail;
}

/** One sku (child) order of `sku_order_list`. Amounts in fen. */
export interface DoudianSkuOrder {
  readonly order_id: DoudianId;
  readonly parent_order_id?: DoudianId;
  readonly product_id?: DoudianId;
  readonly product_id_str?: string;
  readonly product_name?: string;
  readonly sku_id?: DoudianId;
  readonly item_num?: number;
  /** 商品现价 (unit price after campaign discounts). */
  readonly origin_amount?: number;
  readonly order_amount?: number;
  readonly pay_amount?: number;
  /** 直播主播id (达人), only for live-room and showcase orders. */
  readonly author_id?: DoudianId;
  readonly author_name?: string;
  /** 直播间id: set when the order came from a live room. */
  readonly room_id?: DoudianId;
  readonly room_id_str?: string;
  /** 视频id: set when the order came from a short video. */
  readonly video_id?: string;
  /** C端流量来源: 0 unknown, 2 精选联盟, 8 小店自卖. */
  readonly c_biz?: number;
  readonly c_biz_desc?: string;
}

/** order.orderDetail `data.shop_order_detail`, and each element of order.searchList `shop_order_list`. */
export interface DoudianShopOrder {
  readonly order_id: DoudianId;
  readonly shop_id: DoudianId;
  /** 1 待支付, 103 部分支付, 105 已支付, 2 备货中, 101 部分发货, 3 已发货, 4 已取消, 5 已完成. */
  readonly order_status: number;
  readonly order_status_desc?: string;
  readonly main_status?: number;
  readonly create_time: number;
  readonly update_time?: number;
  readonly pay_time?: number;
  readonly ship_time?: number;
  readonly finish_time?: number;
  readonly cancel_reason?: string;
  readonly order_amount?: number;
  readonly pay_amount?: number;
  readonly post_amount?: number;
  readonly promotion_amount?: number;
  readonly promotion_detail?: DoudianPromotionDetail;
  /** 加密用户ID串: the buyer's id for this shop. */
  readonly doudian_open_id?: string;
  readonly open_id?: string;
  readonly post_tel?: string;
  readonly encrypt_post_tel?: string;
  readonly mask_post_tel?: string;
  readonly post_receiver?: string;
  readonly encrypt_post_receiver?: string;
  readonly mask_post_receiver?: string;
  readonly post_addr?: DoudianPostAddr;
  readonly mask_post_addr?: DoudianPostAddr;
  readonly sku_order_list?: readonly DoudianSkuOrder[];
}

export interface DoudianOrderDetailData {
  readonly shop_order_detail: DoudianShopOrder;
}

export interface DoudianSearchListData {
  readonly shop_order_list: readonly DoudianShopOrder[];
  readonly page: number;
  readonly size: number;
  readonly total: number;
}
