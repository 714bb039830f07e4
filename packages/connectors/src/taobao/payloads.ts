/*
 * TOP payloads in Taobao's own field names, for format=json, v=2.0, simplify=false (lists come
 * wrapped: `trades: { trade: [...] }`, `messages: { tmc_message: [...] }`). Unknown fields are
 * allowed (the platform adds fields without notice) and never read.
 *
 * Ids are 64-bit on TOP and 19 digits today; they are parsed with parseJsonKeepingBigInts, so
 * an id arrives as a JSON number when it is a safe integer and as a decimal string otherwise
 * (`TopId`). Amounts are yuan decimal strings ("200.07"). Times are `yyyy-MM-dd HH:mm:ss` GMT+8.
 *
 * Sources (API docs on open.taobao.com, read through their mirrors and the official SDK models):
 * - taobao.tmc.messages.consume / .confirm (apiId 21986 / 21985), TmcMessage
 * - taobao.trades.sold.increment.get, taobao.trade.fullinfo.get (apiId 54), Trade, Order, PromotionDetail
 * - taobao.user.seller.get, taobao.tmc.user.get / .permit
 * - message topics: open.taobao.com/tmc.htm (淘宝交易 taobao_trade_*, 淘宝退款 taobao_refund_*)
 * - error answers: "错误码一览" (docId 114)
 */

export type TopId = string | number;

/** Every failed call answers HTTP 200 with this body. */
export interface TopErrorBody {
  readonly code: number;
  readonly msg?: string;
  readonly sub_code?: string;
  readonly sub_msg?: string;
  readonly request_id?: string;
}

export interface TopErrorResponse {
  readonly error_response: TopErrorBody;
}

/* ----------------------------------------- TMC ----------------------------------------- */

/** One message from taobao.tmc.messages.consume (TmcMessage). */
export interface TmcMessage {
  readonly id: TopId;
  readonly topic: string;
  readonly pub_app_key?: string;
  /** When the message was published, GMT+8. */
  readonly pub_time?: string;
  /** The seller the message is about. */
  readonly user_id?: TopId;
  readonly user_nick?: string;
  /** The topic's fields as a JSON string. */
  readonly content?: string;
  readonly outgoing_time?: string;
}

export interface TmcMessagesConsumeResponse {
  readonly tmc_messages_consume_response: {
    readonly messages?: { readonly tmc_message?: readonly TmcMessage[] };
    readonly request_id?: string;
  };
}

export interface TmcMessagesConfirmResponse {
  readonly tmc_messages_confirm_response: { readonly is_success?: boolean; readonly request_id?: string };
}

/** Content of the taobao_trade_* topics (淘宝交易). Most fields are optional in the topic docs. */
export interface TmcTradeContent {
  readonly tid: TopId;
  readonly oid?: TopId;
  readonly buyer_nick?: string;
  /** "由buyer_id加密, 可对外开放, 用来替换buyer_nick作为唯一标识" */
  readonly buyer_open_uid?: string;
  readonly seller_nick?: string;
  /** Amount the buyer pays, yuan. */
  readonly payment?: string;
  readonly post_fee?: string;
  /** Trade status (WAIT_BUYER_PAY, TRADE_FINISHED, …) when the topic carries it. */
  readonly status?: string;
  readonly type?: string;
  readonly refund_fee?: string;
  readonly refund_id?: TopId;
}

/** Content of the taobao_refund_* topics (淘宝退款). */
export interface TmcRefundContent {
  readonly refund_id: TopId;
  readonly tid: TopId;
  readonly oid?: TopId;
  /** Refunded (or requested) amount, yuan. */
  readonly refund_fee?: string;
  /** refund_bill (退款单), return_bill (退货单), replace_bill (退换货单). */
  readonly bill_type?: string;
  /** onsale (售中) or aftersale (售后). */
  readonly refund_phase?: string;
  /** Refund update time, GMT+8. */
  readonly modified?: string;
  readonly buyer_nick?: string;
  readonly buyer_open_uid?: string;
  readonly seller_nick?: string;
}

/**
 * What Datong stores as `PlatformMessage.payload` for one consumed TMC message: the message's
 * own fields, its `content` parsed (ids kept exact; the raw string when it is not JSON), and,
 * for trade topics, the trade as taobao.trade.fullinfo.get returned it right after consuming
 * (`trade`, Datong's addition, absent when not fetched).
 */
export interface TaobaoMessagePayload {
  readonly id: string;
  readonly topic: string;
  readonly pub_time?: string;
  readonly pub_app_key?: string;
  readonly user_id?: string;
  readonly user_nick?: string;
  readonly content: Readonly<Record<string, unknown>> | string;
  readonly trade?: TopTrade;
}

/* ---------------------------------------- Trades ---------------------------------------- */

/** PromotionDetail: one discount applied to a trade. */
export interface TopPromotionDetail {
  readonly id?: TopId;
  readonly promotion_name?: string;
  readonly discount_fee?: string;
  readonly gift_item_name?: string;
  readonly promotion_id?: string;
  readonly promotion_desc?: string;
}

/** Order: one line (子订单) of a trade. */
export interface TopOrder {
  readonly oid: TopId;
  readonly oid_str?: string;
  readonly num_iid?: TopId;
  readonly sku_id?: string;
  readonly outer_iid?: string;
  readonly outer_sku_id?: string;
  readonly title?: string;
  /** Listed unit price, yuan. */
  readonly price?: string;
  readonly num?: number;
  /** 应付金额: price × num + adjust_fee − discount_fee. */
  readonly total_fee?: string;
  /** 子订单实付金额 (includes postage when the trade has one line). */
  readonly payment?: string;
  /** 分摊之后的实付金额: payment after trade-level discounts are shared out. */
  readonly divide_order_fee?: string;
  readonly discount_fee?: string;
  readonly adjust_fee?: string;
  readonly status?: string;
  readonly refund_status?: string;
  readonly refund_id?: TopId;
  readonly sku_properties_name?: string;
  /** B (天猫商城) or C (淘宝集市). */
  readonly seller_type?: string;
  readonly end_time?: string;
  readonly consign_time?: string;
}

/** Trade: a Taobao/Tmall order (主订单). Receiver fields are masked or encrypted under Taobao's data-security rules. */
export interface TopTrade {
  readonly tid: TopId;
  readonly tid_str?: string;
  readonly status?: string;
  readonly type?: string;
  readonly created?: string;
  readonly modified?: string;
  readonly pay_time?: string;
  readonly consign_time?: string;
  readonly end_time?: string;
  /** 实付金额, yuan. */
  readonly payment?: string;
  readonly total_fee?: string;
  readonly post_fee?: string;
  readonly discount_fee?: string;
  readonly adjust_fee?: string;
  readonly buyer_nick?: string;
  /** Returned only when `fields` asks for buyer_nick. */
  readonly buyer_open_uid?: string;
  readonly seller_nick?: string;
  readonly receiver_name?: string;
  readonly receiver_state?: string;
  readonly receiver_city?: string;
  readonly receiver_district?: string;
  readonly receiver_town?: string;
  readonly receiver_address?: string;
  readonly receiver_zip?: string;
  readonly receiver_country?: string;
  readonly receiver_mobile?: string;
  readonly receiver_phone?: string;
  /** Opaque id of the receiver data, used with Taobao's decryption services; kept as given. */
  readonly oaid?: string;
  readonly trade_from?: string;
  readonly o2o_shop_id?: string;
  readonly o2o_guide_id?: string;
  readonly orders?: { readonly order?: readonly TopOrder[] };
  readonly promotion_details?: { readonly promotion_detail?: readonly TopPromotionDetail[] };
}

export interface TradesSoldIncrementGetResponse {
  readonly trades_sold_increment_get_response: {
    readonly total_results?: number;
    readonly has_next?: boolean;
    readonly trades?: { readonly trade?: readonly TopTrade[] };
    readonly request_id?: string;
  };
}

export interface TradeFullinfoGetResponse {
  readonly trade_fullinfo_get_response: { readonly trade?: TopTrade; readonly request_id?: string };
}

/* ------------------------------------- Shop and TMC user ------------------------------------- */

export interface UserSellerGetResponse {
  readonly user_seller_get_response: {
    readonly user?: { readonly nick?: string; readonly user_id?: TopId; readonly type?: string };
    readonly request_id?: string;
  };
}

export interface TmcUserGetResponse {
  readonly tmc_user_get_response: {
    readonly tmc_user?: {
      readonly user_nick?: string;
      readonly user_id?: TopId;
      readonly topics?: { readonly string?: readonly string[] };
      readonly is_valid?: boolean;
      readonly group_name?: string;
      readonly created?: string;
      readonly modified?: string;
    };
    readonly request_id?: string;
  };
}

export interface TmcUserPermitResponse {
  readonly tmc_user_permit_response: { readonly is_success?: boolean; readonly request_id?: string };
}

/* ------------------------------------------- Requests ------------------------------------------- */

/** The fields Datong asks for on trades (taobao.trades.sold.increment.get and taobao.trade.fullinfo.get). */
export const TRADE_FIELDS = [
  'tid',
  'status',
  'type',
  'created',
  'modified',
  'pay_time',
  'consign_time',
  'end_time',
  'payment',
  'total_fee',
  'post_fee',
  'discount_fee',
  'adjust_fee',
  // buyer_open_uid is only returned when buyer_nick is requested too (Trade.buyer_open_uid doc).
  'buyer_nick',
  'buyer_open_uid',
  'seller_nick',
  'receiver_name',
  'receiver_state',
  'receiver_city',
  'receiver_district',
  'receiver_town',
  'receiver_address',
  'receiver_zip',
  'receiver_country',
  'receiver_mobile',
  'oaid',
  'trade_from',
  'o2o_shop_id',
  'orders',
  'promotion_details',
] as const;

/** The topics Datong asks TMC for when it permits a shop (taobao.tmc.user.permit). */
export const TAOBAO_DEFAULT_TOPICS = [
  'taobao_trade_TradeCreate',
  'taobao_trade_TradeBuyerPay',
  'taobao_trade_TradeSellerShip',
  'taobao_trade_TradePartlySellerShip',
  'taobao_trade_TradeSuccess',
  'taobao_trade_TradeClose',
  'taobao_trade_TradeChanged',
  'taobao_trade_TradeModifyFee',
  'taobao_trade_TradeLogisticsAddressChanged',
  'taobao_refund_RefundCreated',
  'taobao_refund_RefundSellerAgreeAgreement',
  'taobao_refund_RefundSellerRefuseAgreement',
  'taobao_refund_RefundBuyerModifyAgreement',
  'taobao_refund_RefundBuyerReturnGoods',
  'taobao_refund_RefundClosed',
  'taobao_refund_RefundSuccess',
] as const;
