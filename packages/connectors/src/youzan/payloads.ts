/*
 * Youzan Cloud (有赞云) payloads in Youzan's own field names. Every field the normalizer reads is
 * optional here: pushes carry different subsets per message type, and the platform adds and
 * deprecates fields without notice. Long integers (oid, fans_id, …) may arrive as JSON numbers
 * or strings; the parser keeps those above 15 digits as strings (codec.ts), hence `YouzanLong`.
 *
 * Sources (read 2026-11; the docs are dynamic pages, cited by page id):
 * - Push envelope and headers: 消息推送接入 https://doc.youzanyun.com/resource/develop-guide/41355/41536
 *   and the per-message pages https://doc.youzanyun.com/detail/MSG/{id} (300 trade_TradeCreate,
 *   302 trade_TradeBuyerPay, 198 trade_TradePartlySellerShip, 209 trade_refund_BuyerCreated).
 * - Orders: youzan.trades.sold.get 4.0.4 and youzan.trade.get 4.0.2 (https://doc.youzanyun.com/detail/API/0/…).
 * - Token: POST /auth/token, authorize_type=silent (自用型应用获取 access_token).
 */

export type YouzanLong = number | string;

/** The JSON body of a push, as Youzan POSTs it (Content-Type application/json). */
export interface YouzanPushEnvelope {
  /** The app's client_id. */
  readonly client_id?: string;
  /** Deprecated app id (not the client_id). */
  readonly app_id?: string;
  /** Business id of the message: the order number (tid) for trade messages, the user/card id for SCRM ones. */
  readonly id?: string;
  /** Shop that produced the message. */
  readonly kdt_id?: YouzanLong;
  readonly kdt_name?: string;
  /** Chain headquarters (连锁总店) ids, when the shop is part of a chain. */
  readonly root_kdt_id?: YouzanLong;
  readonly head_kdt_id?: YouzanLong;
  /** Message type, e.g. `trade_TradeCreate`, `trade_refund_RefundSuccess`, `SCRM_CUSTOMER_EVENT`. */
  readonly type?: string;
  /** Business status at push time (trade messages: the order status, e.g. WAIT_BUYER_PAY). */
  readonly status?: string | null;
  /**
   * The message body: a UrlEncode(UTF-8)'d JSON string for trade, refund and SCRM messages; a
   * JSON object for the newer `youzan_trade_Refund*` messages.
   */
  readonly msg?: string | Record<string, unknown>;
  /** Unique message id: the dedupe key. Absent on some old message types. */
  readonly msg_id?: string;
  /** "消息版本号 … 高版本覆盖低版本": a Unix timestamp, in seconds on trade messages, in ms on others. */
  readonly version?: YouzanLong;
  /** Retry count; absent or 0 on the first delivery. */
  readonly sendCount?: number;
  /** md5(client_id + msg + client_secret) on trade messages; other types document other formulas. */
  readonly sign?: string;
  /** true for a test message (acknowledged, never processed). */
  readonly test?: boolean;
  /** Deprecated push mode (1). */
  readonly mode?: number | string;
}

/** The push headers Youzan sends (names case-insensitive). */
export interface YouzanPushHeaders {
  /** md5(client_id + raw request body + client_secret), lower-case hex. */
  readonly 'event-sign'?: string;
  /** Same as the body's `type`. */
  readonly 'event-type'?: string;
  readonly 'client-id'?: string;
}

// ---------------------------------------------------------------------------------------------
// Orders (push msg of trade_TradeCreate / TradePaid / TradeBuyerPay, youzan.trade.get data,
// youzan.trades.sold.get full_order_info_list[].full_order_info)
// ---------------------------------------------------------------------------------------------

export interface YouzanOrderInfo {
  readonly tid?: string;
  /** WAIT_BUYER_PAY, TRADE_PAID, WAIT_CONFIRM, WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS, TRADE_SUCCESS, TRADE_CLOSED */
  readonly status?: string;
  readonly status_str?: string;
  readonly type?: YouzanLong;
  /** Times are Beijing time, `yyyy-MM-dd HH:mm:ss` (empty string when not reached). */
  readonly created?: string;
  readonly update_time?: string;
  readonly pay_time?: string;
  readonly consign_time?: string;
  readonly success_time?: string;
  readonly expired_time?: string;
  readonly confirm_time?: string;
  /** 0 not closed; 1 expired; 2 marked refunded; 3 cancelled; 4 buyer cancelled; 5 seller cancelled; 6 partial refund; … */
  readonly close_type?: YouzanLong;
  /** 0 none, 1/11 refunding, 2 partly refunded, 12 fully refunded. */
  readonly refund_state?: YouzanLong;
  /** 0 express, 1 self-fetch, 2 local delivery, 9 no delivery. */
  readonly express_type?: YouzanLong;
  readonly pay_type?: YouzanLong;
  readonly team_type?: YouzanLong;
  readonly offline_id?: YouzanLong;
  readonly node_kdt_id?: YouzanLong;
  readonly root_kdt_id?: YouzanLong;
  readonly is_retail_order?: boolean;
  readonly order_tags?: Readonly<Record<string, unknown>>;
  readonly order_extra?: Readonly<Record<string, unknown>>;
}

export interface YouzanSourceInfo {
  readonly is_offline_order?: boolean;
  readonly book_key?: string;
  readonly biz_source?: string;
  readonly order_mark?: string;
  /** platform: wx, alipay, …; wx_entrance: wx_gzh, merchant_xcx, direct_buy, … */
  readonly source?: { readonly platform?: string; readonly wx_entrance?: string };
}

export interface YouzanBuyerInfo {
  /** 有赞对外统一 openId: the buyer's stable Youzan id. */
  readonly yz_open_id?: string;
  /** The buyer's bound phone; may be masked (138****5678) or encrypted when the app has no plaintext right. */
  readonly buyer_phone?: string;
  /** WeChat openid (H5 / mini-program) or App open_user_id; Youzan does not say which appId. */
  readonly outer_user_id?: string;
  /** Deprecated: use yz_open_id. */
  readonly fans_id?: YouzanLong;
  readonly fans_type?: YouzanLong;
  readonly fans_nickname?: string;
  readonly buyer_id?: YouzanLong;
}

export interface YouzanAddressInfo {
  readonly receiver_name?: string;
  readonly receiver_tel?: string;
  readonly delivery_province?: string;
  readonly delivery_city?: string;
  readonly delivery_district?: string;
  readonly delivery_address?: string;
  readonly delivery_postal_code?: string;
  readonly address_extra?: string;
  readonly self_fetch_info?: string;
}

export interface YouzanPayInfo {
  /** 优惠前商品总价, yuan. */
  readonly total_fee?: string;
  /** Shipping fee, yuan. */
  readonly post_fee?: string;
  /** 最终支付价格, yuan: what the buyer pays. */
  readonly payment?: string;
  readonly real_payment?: string;
  /** Gift/stored-value card deduction, fen (Long). */
  readonly deduction_pay?: YouzanLong;
  readonly transaction?: readonly string[];
  readonly outer_transactions?: readonly string[];
}

export interface YouzanOrderLine {
  /** 订单明细 id (up to 19 digits). */
  readonly oid?: YouzanLong;
  readonly item_id?: YouzanLong;
  readonly sku_id?: YouzanLong;
  readonly title?: string;
  readonly num?: YouzanLong;
  /** 单商品原价, yuan. */
  readonly price?: string;
  /** 单商品现价 (after item discounts), yuan. */
  readonly discount_price?: string;
  /** 商品优惠后总价, yuan. */
  readonly total_fee?: string;
  /** 商品最终均摊价 (what the buyer pays for the line), yuan. */
  readonly payment?: string;
  readonly outer_item_id?: string;
  readonly outer_sku_id?: string;
  readonly sku_properties_name?: string;
  readonly item_type?: YouzanLong;
  readonly is_present?: boolean;
  readonly buyer_messages?: string;
  readonly pic_path?: string;
  readonly alias?: string;
}

export interface YouzanChannelInfo {
  readonly type?: string;
  readonly entrance?: string;
  readonly app_id?: string;
  readonly app_name?: string;
}

export interface YouzanFullOrderInfo {
  readonly order_info?: YouzanOrderInfo;
  readonly source_info?: YouzanSourceInfo;
  readonly buyer_info?: YouzanBuyerInfo;
  readonly address_info?: YouzanAddressInfo;
  readonly pay_info?: YouzanPayInfo;
  readonly orders?: readonly YouzanOrderLine[];
  readonly remark_info?: { readonly buyer_message?: string; readonly trade_memo?: string; readonly star?: YouzanLong };
  readonly channel_info?: YouzanChannelInfo;
}

/** One promotion in `order_promotion.order[]` / `item[].promotions[]` (fields vary by promotion type). */
export interface YouzanPromotion {
  readonly promotion_id?: YouzanLong;
  readonly promotion_type?: string;
  readonly promotion_type_name?: string;
  readonly promotion_title?: string;
  readonly promotion_name?: string;
  readonly promotion_content?: string;
  readonly coupon_id?: YouzanLong;
  /** Discount, yuan. */
  readonly discount_fee?: string;
}

export interface YouzanOrderPromotion {
  readonly order?: readonly YouzanPromotion[];
  readonly item?: readonly { readonly oid?: YouzanLong; readonly promotions?: readonly YouzanPromotion[] }[];
  /** yuan */
  readonly item_discount_fee?: string;
  /** yuan */
  readonly order_discount_fee?: string;
  /** 改价, yuan (may be negative). */
  readonly adjust_fee?: string;
}

/** youzan.trade.get data, and the decoded msg of trade_TradeCreate / TradePaid / TradeBuyerPay. */
export interface YouzanTradeDetail {
  readonly full_order_info?: YouzanFullOrderInfo;
  readonly order_promotion?: YouzanOrderPromotion;
  readonly refund_order?: readonly Readonly<Record<string, unknown>>[];
  readonly delivery_order?: readonly Readonly<Record<string, unknown>>[];
}

/** Decoded msg of trade_TradeSellerShip / TradeSuccess / TradePartlySellerShip. */
export interface YouzanTradeStatusMsg {
  readonly tid?: string;
  readonly update_time?: string;
  readonly oids?: string;
  readonly express_id?: YouzanLong;
  readonly express_no?: string;
}

/** Decoded msg of trade_TradeClose. */
export interface YouzanTradeCloseMsg {
  readonly tid?: string;
  readonly close_type?: YouzanLong;
  readonly close_reason?: string;
  readonly update_time?: string;
}

/** Decoded msg of trade_refund_* (UrlEncoded string) and youzan_trade_Refund* (object) messages. */
export interface YouzanRefundMsg {
  readonly tid?: string;
  readonly refund_id?: string;
  /** Comma-separated order line ids. */
  readonly oids?: string;
  /** Refunded (or requested) amount, yuan. */
  readonly refunded_fee?: string | number;
  readonly refund_fee?: string | number;
  readonly refund_reason?: YouzanLong;
  readonly refund_reason_desc?: string;
  /** REFUND_ONLY, REFUND_AND_RETURN, EXCHANGE_GOODS_FLOW, … */
  readonly refund_type?: string;
  readonly update_time?: string;
  readonly version?: YouzanLong;
}

/** Decoded msg of SCRM_CUSTOMER_EVENT (status CUSTOMER_CREATED / CUSTOMER_UPDATED). */
export interface YouzanCustomerEventMsg {
  readonly account_id?: string;
  /** YouZanAccount, FansID, Mobile, YzOpenId, … */
  readonly account_type?: string;
  readonly yz_open_id?: string;
  readonly mobile?: string;
  readonly name?: string;
  readonly gender?: YouzanLong;
  readonly birthday?: string;
  readonly is_member?: YouzanLong | boolean;
  /** true / 1 when the customer closed their account (注销). */
  readonly is_log_off?: YouzanLong | boolean;
  readonly src?: YouzanLong;
  readonly update_time?: string;
}

/** Decoded msg of SCRM_CUSTOMER_CARD (status CUSTOMER_CARD_GIVEN, CUSTOMER_CARD_ACTIVATED, CUSTOMER_CARD_DELETED, …). */
export interface YouzanCustomerCardMsg {
  readonly yz_open_id?: string;
  readonly mobile?: string;
  readonly card_alias?: string;
  readonly card_no?: string;
  readonly fans_id?: YouzanLong;
  readonly fans_type?: YouzanLong;
  readonly event_time?: string;
}

// ---------------------------------------------------------------------------------------------
// Outbound API
// ---------------------------------------------------------------------------------------------

/** POST /auth/token body for a self-built app (自用型, authorize_type=silent). */
export interface YouzanSilentTokenRequest {
  readonly client_id: string;
  readonly client_secret: string;
  readonly authorize_type: 'silent';
  /** The shop's kdt_id. */
  readonly grant_id: string;
  /** false: the current token while it is valid; true: a new token. */
  readonly refresh: boolean;
}

/** POST /auth/token answer. `expires` is the expiry instant in epoch ms (7 days after issue). */
export interface YouzanTokenResponse {
  readonly success?: boolean;
  readonly code?: number;
  readonly message?: string | null;
  readonly data?: {
    readonly access_token?: string;
    readonly expires?: YouzanLong;
    readonly scope?: string;
    readonly authority_id?: YouzanLong;
  } | null;
}

/** Gateway-level error (HTTP 200): wrong path, token, permission, throttling, IP whitelist. */
export interface YouzanGatewayError {
  readonly gw_err_resp: {
    readonly err_code?: YouzanLong;
    readonly err_msg?: string;
    readonly trace_id?: string;
  };
}

/** Business-level answer of /api/{name}/{version}: success has code 200. */
export interface YouzanApiResponse<T> {
  readonly success?: boolean;
  readonly code?: YouzanLong;
  readonly message?: string | null;
  readonly data?: T | null;
  readonly trace_id?: string;
}

/** youzan.trades.sold.get 4.0.4 request (the fields this connector sends). */
export interface YouzanTradesSoldGetRequest {
  /** Beijing time, `yyyy-MM-dd HH:mm:ss`; pairs; span ≤ 3 months. */
  readonly start_update: string;
  readonly end_update: string;
  /** 1…100 */
  readonly page_no: number;
  /** ≤ 100 */
  readonly page_size: number;
}

export interface YouzanTradesSoldGetData {
  readonly full_order_info_list?: readonly { readonly full_order_info?: YouzanFullOrderInfo }[];
  readonly total_results?: YouzanLong;
}
