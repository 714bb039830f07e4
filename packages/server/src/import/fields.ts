import type { IdentifierType } from '@datong/core';
import type { ImportType } from './types.js';

/** How a field's cells are read and checked. */
export type FieldKind = 'identifier' | 'text' | 'date' | 'money' | 'quantity' | 'status' | 'currency' | 'json';

export interface FieldSpec {
  readonly kind: FieldKind;
  /** For identifiers: the OneID type. */
  readonly identifier?: IdentifierType;
  /** Which import types use the field. */
  readonly types: readonly ImportType[];
  /** Header texts that name this field, best first (compared lower-cased, without spaces and brackets). */
  readonly headers: readonly string[];
  readonly required?: ImportType;
  /** The requirement is met by mapping this field instead. */
  readonly orMapped?: string;
}

const BOTH: readonly ImportType[] = ['customers', 'orders'];
const ORDERS: readonly ImportType[] = ['orders'];

/**
 * Every Datong field an import can fill, besides `traits.<anything>`. Header aliases are the
 * column names of common Chinese POS, CRM and e-commerce back-office exports and their English
 * counterparts; a guess is only a proposal, shown by the dry run before anything is sent.
 */
export const IMPORT_FIELDS: Readonly<Record<string, FieldSpec>> = {
  user_id: { kind: 'identifier', identifier: 'user_id', types: BOTH, headers: ['user_id', 'userid', '用户id', '会员id', '客户id', 'customer_id', 'member_id', '买家id'] },
  phone: {
    kind: 'identifier',
    identifier: 'phone',
    types: BOTH,
    headers: ['手机号', '手机号码', '手机', '会员手机号', '客户手机号', '买家手机号', '收货人手机号', '收货人手机', '联系电话', '电话', '电话号码', '联系方式', 'phone', 'mobile', 'mobile_phone', 'cellphone', 'phone_number', 'tel'],
  },
  email: { kind: 'identifier', identifier: 'email', types: BOTH, headers: ['邮箱', '电子邮箱', '电子邮件', 'email', 'e-mail', 'mail', 'email_address'] },
  crm_id: { kind: 'identifier', identifier: 'crm_id', types: BOTH, headers: ['会员卡号', '卡号', '会员编号', '会员号', '客户编号', 'crm_id', 'card_no', 'member_no', 'customer_no'] },
  wechat_unionid: { kind: 'identifier', identifier: 'wechat_unionid', types: BOTH, headers: ['unionid', 'union_id', '微信unionid'] },
  wechat_openid: { kind: 'identifier', identifier: 'wechat_openid', types: BOTH, headers: ['openid', 'open_id', '微信openid'] },
  wecom_external_userid: { kind: 'identifier', identifier: 'wecom_external_userid', types: BOTH, headers: ['external_userid', '外部联系人id'] },
  youzan_open_id: { kind: 'identifier', identifier: 'youzan_open_id', types: BOTH, headers: ['youzan_open_id', '有赞open_id'] },
  taobao_open_uid: { kind: 'identifier', identifier: 'taobao_open_uid', types: BOTH, headers: ['open_uid', 'taobao_open_uid'] },
  douyin_open_id: { kind: 'identifier', identifier: 'douyin_open_id', types: BOTH, headers: ['douyin_open_id', '抖音open_id'] },
  meituan_user_id: { kind: 'identifier', identifier: 'meituan_user_id', types: BOTH, headers: ['meituan_user_id', '美团用户id'] },
  name: { kind: 'text', types: BOTH, headers: ['姓名', '名字', '客户姓名', '会员姓名', '顾客姓名', '客户名称', '会员名称', '买家姓名', '收货人', '收货人姓名', 'name', 'full_name', 'customer_name', 'member_name'] },
  'traits.gender': { kind: 'text', types: BOTH, headers: ['性别', 'gender', 'sex'] },
  'traits.birthday': { kind: 'text', types: BOTH, headers: ['生日', '出生日期', 'birthday', 'birth_date', 'date_of_birth', 'dob'] },
  'traits.province': { kind: 'text', types: BOTH, headers: ['省份', '省', 'province', 'state'] },
  'traits.city': { kind: 'text', types: BOTH, headers: ['城市', '市', 'city'] },
  'traits.address': { kind: 'text', types: BOTH, headers: ['地址', '详细地址', '收货地址', 'address'] },
  'traits.level': { kind: 'text', types: ['customers'], headers: ['会员等级', '等级', '会员级别', 'level', 'tier', 'member_level'] },
  'traits.points': { kind: 'text', types: ['customers'], headers: ['积分', '会员积分', '可用积分', 'points'] },
  'traits.store': { kind: 'text', types: ['customers'], headers: ['开卡门店', '所属门店', '注册门店', 'home_store'] },
  created_at: {
    kind: 'date',
    types: BOTH,
    headers: ['下单时间', '创建时间', '订单时间', '注册时间', '开卡时间', '入会时间', 'created_at', 'created', 'order_time', 'order_date', 'registered_at', 'signup_date', 'create_time'],
  },
  order_id: {
    kind: 'text',
    types: ORDERS,
    required: 'orders',
    headers: ['订单号', '订单编号', '订单id', '单号', '小票号', '流水号', '交易单号', '销售单号', 'order_id', 'order_no', 'order_number', 'receipt_no'],
  },
  shop_id: { kind: 'text', types: ORDERS, headers: ['门店编号', '门店id', '门店代码', '门店', '门店名称', '店铺id', '店铺', '店铺名称', 'shop_id', 'store_id', 'shop', 'store'] },
  status: { kind: 'status', types: ORDERS, headers: ['订单状态', '交易状态', '状态', 'status', 'order_status'] },
  /** The order's amount: on every line of a multi-line order (once is enough; the lines must agree). */
  total: {
    kind: 'money',
    types: ORDERS,
    required: 'orders',
    orMapped: 'line_total',
    headers: ['实付金额', '实付', '实收金额', '实收', '支付金额', '付款金额', '应付金额', '订单金额', '消费金额', '总金额', '金额', '合计', 'total', 'paid_amount', 'amount', 'order_total', 'total_amount'],
  },
  currency: { kind: 'currency', types: ORDERS, headers: ['币种', '货币', 'currency'] },
  discount: { kind: 'money', types: ORDERS, headers: ['优惠金额', '折扣金额', '优惠', '折扣', 'discount', 'discount_amount'] },
  shipping: { kind: 'money', types: ORDERS, headers: ['运费', '配送费', 'shipping', 'shipping_fee', 'freight'] },
  paid_at: { kind: 'date', types: ORDERS, headers: ['支付时间', '付款时间', '交易时间', '消费时间', '结账时间', 'paid_at', 'payment_time', 'pay_time'] },
  product_id: { kind: 'text', types: ORDERS, headers: ['商品id', '商品编号', '商品编码', '货号', 'product_id', 'item_id'] },
  sku: { kind: 'text', types: ORDERS, headers: ['sku', 'sku编码', '规格编码', '条码', '条形码', 'barcode', 'sku_id'] },
  product_name: { kind: 'text', types: ORDERS, headers: ['商品名称', '商品', '品名', '商品标题', 'product_name', 'product', 'item_name', 'item', 'title'] },
  quantity: { kind: 'quantity', types: ORDERS, headers: ['数量', '购买数量', '件数', 'quantity', 'qty'] },
  price: { kind: 'money', types: ORDERS, headers: ['单价', '价格', '商品单价', 'price', 'unit_price'] },
  /** One line's amount: an order without `total` is the exact sum of its lines' amounts. */
  line_total: { kind: 'money', types: ORDERS, headers: ['小计', '商品小计', '明细金额', '行金额', '商品实付金额', 'line_total', 'line_amount', 'item_total', 'lineitem_total'] },
  products: { kind: 'json', types: ORDERS, headers: [] },
  channel: { kind: 'text', types: ORDERS, headers: ['渠道', '销售渠道', '来源渠道', 'channel'] },
};

/** The fields of one import type (without `traits.*` beyond the catalog's). */
export function fieldsFor(type: ImportType): string[] {
  return Object.entries(IMPORT_FIELDS)
    .filter(([, f]) => f.types.includes(type))
    .map(([k]) => k);
}

/** True for a field an import of `type` can fill: a catalog field or any `traits.<key>`. */
export function isImportField(type: ImportType, field: string): boolean {
  if (/^traits\.[^.\s]{1,100}$/.test(field) && !['traits.phone', 'traits.email'].includes(field)) return true;
  return IMPORT_FIELDS[field]?.types.includes(type) ?? false;
}

/** Header text compared: lower case, without spaces, underscores, hyphens and what is in brackets ("手机号(必填)"). */
export function normalizeHeader(h: string): string {
  return h
    .replace(/[（(【[].*?[）)】\]]/g, '')
    .replace(/\*/g, '')
    .toLowerCase()
    .replace(/[\s_\-:：]/g, '');
}

/**
 * Proposes a column for each field from the file's headers: exact matches (after
 * normalizeHeader) first, field by field in catalog order, then a header that contains an alias
 * of at least two Chinese characters or four letters ("买家手机号码" → phone). A column is
 * used once. Returns field → column name.
 */
export function guessMapping(type: ImportType, columns: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const used = new Set<string>();
  const normalized = columns.map((c) => ({ column: c, key: normalizeHeader(c) }));
  const fields = fieldsFor(type);
  const pass = (match: (key: string, alias: string) => boolean): void => {
    for (const field of fields) {
      if (out[field] !== undefined) continue;
      const aliases = (IMPORT_FIELDS[field]?.headers ?? []).map(normalizeHeader);
      for (const alias of aliases) {
        const hit = normalized.find((c) => !used.has(c.column) && c.key !== '' && match(c.key, alias));
        if (hit) {
          out[field] = hit.column;
          used.add(hit.column);
          break;
        }
      }
    }
  };
  pass((key, alias) => key === alias);
  const longEnough = (alias: string): boolean => (/[\u4e00-\u9fff]/.test(alias) ? alias.length >= 2 : alias.length >= 4);
  pass((key, alias) => longEnough(alias) && key.includes(alias));
  return out;
}
