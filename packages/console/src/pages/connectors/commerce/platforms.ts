// What each e-commerce platform needs in the setup wizard: its config fields (the names and
// rules of packages/connectors/src/<platform>/config.ts; secrets are the fields that schema
// marks `secret: true`), and what the merchant pastes back into the platform's back office.
// Help texts live in the i18n catalogs under commerce.fields.<platform>.<field>.

export const COMMERCE_PLATFORMS = ['youzan', 'taobao', 'doudian', 'meituan'] as const;
export type CommercePlatform = (typeof COMMERCE_PLATFORMS)[number];

export function isCommercePlatform(p: string): p is CommercePlatform {
  return (COMMERCE_PLATFORMS as readonly string[]).includes(p);
}

export interface FieldSpec {
  readonly key: string;
  /** The field's name as the platform's console spells it. */
  readonly label: string;
  readonly required: boolean;
  readonly secret?: boolean;
  /** A format check; its message is commerce.rule.<rule>. */
  readonly rule?: FieldRule;
  readonly placeholder?: string;
}

export interface PlatformSpec {
  readonly platform: CommercePlatform;
  /** One character on the platform's colour (the card and the list). */
  readonly mark: string;
  readonly color: string;
  readonly fields: readonly FieldSpec[];
  /** The platform's default API base (placeholder of the optional API base field). */
  readonly defaultApiBase: string;
  /** push: the platform calls Datong's webhook URL; tmc: Datong pulls Taobao's message service. */
  readonly delivery: 'push' | 'tmc';
  /** The config field shown as the account in the connectors list. */
  readonly accountField: string;
}

export type FieldRule = 'digits' | 'digits19' | 'noSpace';

export const FIELD_RULES: Readonly<Record<FieldRule, RegExp>> = { digits: /^[0-9]{1,20}$/, digits19: /^[0-9]{19}$/, noSpace: /^\S+$/ };

export const PLATFORM_SPECS: Readonly<Record<CommercePlatform, PlatformSpec>> = {
  youzan: {
    platform: 'youzan',
    mark: '有',
    color: '#e5352d',
    defaultApiBase: 'https://open.youzanyun.com',
    delivery: 'push',
    accountField: 'kdtId',
    fields: [
      { key: 'clientId', label: 'client_id', required: true, placeholder: 'c346b8b39599aaa677' },
      { key: 'clientSecret', label: 'client_secret', required: true, secret: true },
      { key: 'kdtId', label: 'kdt_id', required: true, rule: 'digits', placeholder: '13027865' },
    ],
  },
  taobao: {
    platform: 'taobao',
    mark: '淘',
    color: '#ff5000',
    defaultApiBase: 'https://eco.taobao.com/router/rest',
    delivery: 'tmc',
    accountField: 'appKey',
    fields: [
      { key: 'appKey', label: 'App Key', required: true, rule: 'noSpace', placeholder: '12345678' },
      { key: 'appSecret', label: 'App Secret', required: true, secret: true },
      { key: 'sessionKey', label: 'SessionKey', required: true, secret: true },
      { key: 'groupName', label: 'group_name', required: false, placeholder: 'default' },
    ],
  },
  doudian: {
    platform: 'doudian',
    mark: '抖',
    color: '#161823',
    defaultApiBase: 'https://openapi-fxg.jinritemai.com',
    delivery: 'push',
    accountField: 'shopId',
    fields: [
      { key: 'appKey', label: 'App Key', required: true, rule: 'digits19', placeholder: '7001234567890123456' },
      { key: 'appSecret', label: 'App Secret', required: true, secret: true },
      { key: 'shopId', label: 'Shop ID', required: true, rule: 'digits', placeholder: '4463798' },
    ],
  },
  meituan: {
    platform: 'meituan',
    mark: '美',
    color: '#ffc300',
    defaultApiBase: 'https://waimaiopen.meituan.com/api/v1/',
    delivery: 'push',
    accountField: 'appId',
    fields: [
      { key: 'appId', label: 'app_id', required: true, placeholder: '143183' },
      { key: 'appSecret', label: 'app_secret', required: true, secret: true },
      { key: 'appPoiCode', label: 'app_poi_code', required: false, placeholder: 't_1234567' },
    ],
  },
};

/**
 * Taobao pushes nothing: Datong pulls these TMC topics (the ones the taobao connector turns
 * into orders and refunds, packages/connectors/src/taobao/README.md), so the app subscribes to them.
 */
export const TAOBAO_TMC_TOPICS = [
  'taobao_trade_TradeCreate',
  'taobao_trade_TradeBuyerPay',
  'taobao_trade_TradeSellerShip',
  'taobao_trade_TradePartlySellerShip',
  'taobao_trade_TradeSuccess',
  'taobao_trade_TradeClose',
  'taobao_trade_TradeChanged',
  'taobao_refund_RefundCreated',
  'taobao_refund_RefundSellerAgreeAgreement',
  'taobao_refund_RefundSellerRefuseAgreement',
  'taobao_refund_RefundBuyerReturnGoods',
  'taobao_refund_RefundClosed',
  'taobao_refund_RefundSuccess',
] as const;

/** The config to send: trimmed values, optional fields left out when empty. */
export function buildConfig(platform: CommercePlatform, values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of [...PLATFORM_SPECS[platform].fields, { key: 'apiBase' }]) {
    const v = values[f.key];
    const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
    if (s !== '') out[f.key] = s;
  }
  return out;
}

/** An optional API base as the connectors' config accepts it: empty, or an absolute http(s) URL without query or credentials. */
export function isApiBase(value: string | undefined): boolean {
  const v = value?.trim() ?? '';
  if (v === '') return true;
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** A webhook URL no platform can reach (DATONG_PUBLIC_URL not set). */
export function isLocalUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '0.0.0.0' || host === '[::1]' || host.startsWith('127.') || host.endsWith('.local');
  } catch {
    return true;
  }
}
