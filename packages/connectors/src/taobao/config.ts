import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, withoutTrailingSlashes } from '../kit/config.js';

/** The TOP gateway over HTTPS (open.taobao.com, "API调用方法详解", 调用入口 / 正式环境). */
export const DEFAULT_TOP_API_BASE = 'https://eco.taobao.com/router/rest';

/** The digest algorithms TOP accepts in `sign_method` (same doc, 公共参数). */
export const TOP_SIGN_METHODS = ['md5', 'hmac', 'hmac-sha256'] as const;
export type TopSignMethod = (typeof TOP_SIGN_METHODS)[number];

/**
 * `hmac-sha256` is the strongest method the doc lists, and the one current TOP SDKs offer
 * next to md5/hmac. All three are implemented and tested.
 */
export const DEFAULT_TOP_SIGN_METHOD: TopSignMethod = 'hmac-sha256';

/** Credentials of one Taobao/Tmall shop authorised to one TOP app, as stored (encrypted) per connector. */
export const taobaoConfigSchema = Type.Object(
  {
    appKey: Type.String({
      minLength: 1,
      pattern: '^\\S+$',
      description: 'AppKey of the TOP app (开放平台控制台 → 应用管理 → 概览).',
      examples: ['12345678'],
    }),
    appSecret: Type.String({
      minLength: 1,
      secret: true,
      description: 'AppSecret of the same app; signs every API call.',
    }),
    sessionKey: Type.String({
      minLength: 1,
      secret: true,
      description: "The shop's authorisation (session / access_token) issued when the seller authorised the app.",
    }),
    apiBase: Type.Optional(
      Type.String({
        format: 'uri',
        default: DEFAULT_TOP_API_BASE,
        description: 'URL of the TOP router. Change it only for a proxy or the local fake server.',
        examples: [DEFAULT_TOP_API_BASE],
      }),
    ),
    signMethod: Type.Optional(
      Type.Union(
        TOP_SIGN_METHODS.map((m) => Type.Literal(m)),
        { default: DEFAULT_TOP_SIGN_METHOD, description: 'TOP sign_method for API calls.' },
      ),
    ),
    groupName: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'TMC user group to consume and confirm; omit to use the default group.',
      }),
    ),
    shopId: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Datong's id for this shop on its orders. Defaults to the seller nick that TOP reports.",
      }),
    ),
    fetchTradeDetails: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'After consuming trade messages, fetch each trade once with taobao.trade.fullinfo.get so that the stored message carries lines, amounts and times.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type TaobaoConfigInput = Static<typeof taobaoConfigSchema>;

/** A validated config with defaults applied. Frozen. */
export interface TaobaoConfig {
  readonly appKey: string;
  readonly appSecret: string;
  readonly sessionKey: string;
  readonly apiBase: string;
  readonly signMethod: TopSignMethod;
  readonly groupName?: string;
  readonly shopId?: string;
  readonly fetchTradeDetails: boolean;
}

/**
 * Validates raw connector config. Fails closed: a config without its AppSecret or session key
 * is refused with CONNECTOR_CONFIG_INVALID listing every problem (`errors: [{ pointer, message }]`),
 * and no value is echoed, so a secret in a wrong field cannot leak through the error.
 *
 * @example
 * const config = parseTaobaoConfig({ appKey: '12345678', appSecret: '…', sessionKey: '…' });
 * config.apiBase; // 'https://eco.taobao.com/router/rest'
 */
export function parseTaobaoConfig(raw: unknown): TaobaoConfig {
  const input = checkConfig(taobaoConfigSchema, raw, {
    name: 'Taobao',
    // A union reports its own error and one per member; keep one readable line.
    describe: (error) => (error.path === '/signMethod' ? `must be one of ${TOP_SIGN_METHODS.join(', ')}` : undefined),
  });
  const config: TaobaoConfig = {
    appKey: input.appKey,
    appSecret: input.appSecret,
    sessionKey: input.sessionKey,
    apiBase: withoutTrailingSlashes(input.apiBase ?? DEFAULT_TOP_API_BASE),
    signMethod: input.signMethod ?? DEFAULT_TOP_SIGN_METHOD,
    fetchTradeDetails: input.fetchTradeDetails ?? true,
    ...(input.groupName === undefined ? {} : { groupName: input.groupName }),
    ...(input.shopId === undefined ? {} : { shopId: input.shopId }),
  };
  return Object.freeze(config);
}
