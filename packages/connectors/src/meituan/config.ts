import { Type, type Static } from '@sinclair/typebox';
import { checkConfig, withoutTrailingSlashes } from '../kit/config.js';

/**
 * Base URL of the Meituan waimai (外卖/闪购) open API, as the official Java SDK and the API
 * pages write it (`https://waimaiopen.meituan.com/api/v1/order/getOrderDetail` = base + path).
 * It is also the first half of every signed string, so it must be exactly what Meituan expects.
 */
export const DEFAULT_MEITUAN_API_BASE = 'https://waimaiopen.meituan.com/api/v1/';

/** Credentials of one Meituan open-platform app (自研/自用型应用), as stored (encrypted) per connector. */
export const meituanConfigSchema = Type.Object(
  {
    appId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'app_id of the Meituan open-platform app (开发者中心 → 应用信息).',
      examples: ['143183'],
    }),
    appSecret: Type.String({
      minLength: 1,
      secret: true,
      description: 'app_secret of the same app. Signs every push Meituan sends and every API call Datong makes.',
    }),
    apiBase: Type.Optional(
      Type.String({
        format: 'uri',
        default: DEFAULT_MEITUAN_API_BASE,
        description: 'Base URL of the Meituan open API. Change it only for a proxy or the local fake server.',
        examples: [DEFAULT_MEITUAN_API_BASE],
      }),
    ),
    appPoiCode: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          'app_poi_code (APP方门店id) of the store this connector follows. Needed for order backfill, which Meituan ' +
          'only offers per store; pushes carry their own app_poi_code.',
        examples: ['t_1234567'],
      }),
    ),
  },
  { additionalProperties: false },
);

export type MeituanConfigInput = Static<typeof meituanConfigSchema>;

/** A validated config: `apiBase` resolved and without a trailing slash. Frozen. */
export interface MeituanConfig {
  readonly appId: string;
  readonly appSecret: string;
  readonly apiBase: string;
  readonly appPoiCode?: string;
}

/**
 * Validates raw connector config and returns it frozen with defaults applied. Fails closed:
 * a config without `appSecret` is refused, every problem is reported at once as
 * CONNECTOR_CONFIG_INVALID (the `errors` extension lists `{ pointer, message }`), and no value
 * is echoed, so a secret typed into the wrong field cannot leak through the error.
 *
 * @example
 * const config = parseMeituanConfig({ appId: '143183', appSecret: '…' });
 * config.apiBase; // 'https://waimaiopen.meituan.com/api/v1'
 */
export function parseMeituanConfig(raw: unknown): MeituanConfig {
  const input = checkConfig(meituanConfigSchema, raw, { name: 'Meituan' });
  const config: MeituanConfig = {
    appId: input.appId,
    appSecret: input.appSecret,
    apiBase: withoutTrailingSlashes(input.apiBase ?? DEFAULT_MEITUAN_API_BASE),
    ...(input.appPoiCode === undefined ? {} : { appPoiCode: input.appPoiCode }),
  };
  return Object.freeze(config);
}
