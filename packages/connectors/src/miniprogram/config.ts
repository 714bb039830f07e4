import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, withoutTrailingSlashes } from '../kit/config.js';

export const DEFAULT_WECHAT_API_BASE = 'https://api.weixin.qq.com';

/** Credentials of one WeChat mini-program, as stored (encrypted) per connector. */
export const miniprogramConfigSchema = Type.Object(
  {
    appId: Type.String({
      minLength: 1,
      description: 'Mini-program AppID (微信公众平台 → 开发 → 开发管理 → 开发设置).',
      examples: ['wx4f4bc4dec97d474b'],
    }),
    appSecret: Type.String({
      minLength: 1,
      secret: true,
      description: 'Mini-program AppSecret, from the same page as the AppID.',
    }),
    apiBase: Type.Optional(
      Type.String({
        format: 'uri',
        default: DEFAULT_WECHAT_API_BASE,
        description: 'Base URL of the WeChat server API. Change it only for a proxy or the local fake server.',
        examples: [DEFAULT_WECHAT_API_BASE],
      }),
    ),
  },
  { additionalProperties: false },
);

export type MiniprogramConfigInput = Static<typeof miniprogramConfigSchema>;

/** A validated config: `apiBase` resolved and without a trailing slash. Frozen. */
export interface MiniprogramConfig {
  readonly appId: string;
  readonly appSecret: string;
  readonly apiBase: string;
}

/**
 * Validates raw connector config and returns it frozen with defaults applied. Fails closed:
 * every problem is reported at once as CONNECTOR_CONFIG_INVALID (the `errors` extension lists
 * `{ pointer, message }`), and no value is echoed, so a secret cannot leak through the error.
 *
 * @example
 * const config = parseMiniprogramConfig({ appId: 'wx…', appSecret: '…' });
 * config.apiBase; // 'https://api.weixin.qq.com'
 */
export function parseMiniprogramConfig(raw: unknown): MiniprogramConfig {
  const input = checkConfig(miniprogramConfigSchema, raw, { name: 'WeChat mini-program' });
  return Object.freeze({
    appId: input.appId,
    appSecret: input.appSecret,
    apiBase: withoutTrailingSlashes(input.apiBase ?? DEFAULT_WECHAT_API_BASE),
  });
}
