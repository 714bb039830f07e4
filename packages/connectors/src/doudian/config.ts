import { Type, type Static } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/value';
import { checkConfig, withoutTrailingSlashes } from '../kit/config.js';

export const DEFAULT_DOUDIAN_API_BASE = 'https://openapi-fxg.jinritemai.com';

/** Credentials of one self-use (自用型) Douyin shop app, as stored (encrypted) per connector. */
export const doudianConfigSchema = Type.Object(
  {
    appKey: Type.String({
      pattern: '^[0-9]{19}$',
      description: 'App Key of the 抖店开放平台 app (控制台 → 应用管理 → 应用详情), 19 digits.',
      examples: ['7001234567890123456'],
    }),
    appSecret: Type.String({
      minLength: 1,
      secret: true,
      description: 'App Secret of the same app. It signs every API call and every push message.',
    }),
    shopId: Type.String({
      pattern: '^[0-9]{1,20}$',
      description: 'Shop ID (抖店后台 → 店铺 → 店铺基本信息). Self-use apps create tokens with it.',
      examples: ['4463798'],
    }),
    apiBase: Type.Optional(
      Type.String({
        format: 'uri',
        default: DEFAULT_DOUDIAN_API_BASE,
        description: 'Base URL of the Open API. Change it only for a proxy or the local fake server.',
        examples: [DEFAULT_DOUDIAN_API_BASE],
      }),
    ),
  },
  { additionalProperties: false },
);

export type DoudianConfigInput = Static<typeof doudianConfigSchema>;

/** A validated config: `apiBase` resolved and without a trailing slash. Frozen. */
export interface DoudianConfig {
  readonly appKey: string;
  readonly appSecret: string;
  readonly shopId: string;
  readonly apiBase: string;
}

/**
 * Validates raw connector config and returns it frozen with defaults applied. Fails closed: a
 * config without its App Secret is refused, every problem is reported at once as
 * CONNECTOR_CONFIG_INVALID (`errors` lists `{ pointer, message }`), and no value is echoed.
 *
 * @example
 * const config = parseDoudianConfig({ appKey: '7001234567890123456', appSecret: '…', shopId: '4463798' });
 * config.apiBase; // 'https://openapi-fxg.jinritemai.com'
 */
export function parseDoudianConfig(raw: unknown): DoudianConfig {
  const input = checkConfig(doudianConfigSchema, raw, {
    name: 'Douyin shop',
    // Never echo the pattern check's input: for appKey it is harmless, but keep one rule.
    describe: (error) => (error.type === ValueErrorType.StringPattern ? 'has the wrong format' : undefined),
  });
  return Object.freeze({
    appKey: input.appKey,
    appSecret: input.appSecret,
    shopId: input.shopId,
    apiBase: withoutTrailingSlashes(input.apiBase ?? DEFAULT_DOUDIAN_API_BASE),
  });
}
