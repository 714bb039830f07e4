import { Type, type Static } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/value';
import { checkConfig, withoutTrailingSlashes } from '../kit/config.js';

/** Youzan Cloud (有赞云) open API host: token at /auth/token, APIs at /api/{name}/{version}. */
export const DEFAULT_YOUZAN_API_BASE = 'https://open.youzanyun.com';

/** Credentials of one self-built (自用型) Youzan Cloud app and the shop it is authorized for. */
export const youzanConfigSchema = Type.Object(
  {
    clientId: Type.String({
      minLength: 1,
      description: 'client_id of the Youzan Cloud app (有赞云控制台 → 应用 → 应用概况).',
      examples: ['c346b8b39599aaa677'],
    }),
    clientSecret: Type.String({
      minLength: 1,
      secret: true,
      description: 'client_secret of the same app. Signs every push (Event-Sign) and fetches access tokens.',
    }),
    kdtId: Type.String({
      pattern: '^[0-9]{1,20}$',
      description: 'The shop id (kdt_id, 店铺 ID) the app is authorized for; the token is requested for it (grant_id).',
      examples: ['13027865'],
    }),
    apiBase: Type.Optional(
      Type.String({
        format: 'uri',
        default: DEFAULT_YOUZAN_API_BASE,
        description: 'Base URL of the Youzan Cloud open API. Change it only for a proxy or the local fake server.',
        examples: [DEFAULT_YOUZAN_API_BASE],
      }),
    ),
  },
  { additionalProperties: false },
);

export type YouzanConfigInput = Static<typeof youzanConfigSchema>;

/** A validated config: `apiBase` resolved and without a trailing slash. Frozen. */
export interface YouzanConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly kdtId: string;
  readonly apiBase: string;
}

/**
 * Validates raw connector config and returns it frozen with defaults applied. Fails closed:
 * a config without `clientSecret` (or with an empty one) is refused, every problem is reported
 * at once as CONNECTOR_CONFIG_INVALID (`errors` extension: `{ pointer, message }`), and no
 * value is echoed, so a secret pasted into the wrong field cannot leak through the error.
 *
 * `kdtId` may be given as a number (it is a plain integer in Youzan's back office); it is
 * kept as a decimal string.
 *
 * @example
 * const config = parseYouzanConfig({ clientId: 'c346…', clientSecret: '…', kdtId: '13027865' });
 * config.apiBase; // 'https://open.youzanyun.com'
 */
export function parseYouzanConfig(raw: unknown): YouzanConfig {
  let input: unknown = raw;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const kdtId: unknown = (raw as Record<string, unknown>)['kdtId'];
    if (typeof kdtId === 'number' && Number.isSafeInteger(kdtId) && kdtId >= 0) {
      input = { ...raw, kdtId: String(kdtId) };
    }
  }

  const valid = checkConfig(youzanConfigSchema, input, {
    name: 'Youzan',
    describe: (error) => (error.type === ValueErrorType.StringPattern ? 'must be the numeric shop id (kdt_id)' : undefined),
  });
  return Object.freeze({
    clientId: valid.clientId,
    clientSecret: valid.clientSecret,
    kdtId: valid.kdtId,
    apiBase: withoutTrailingSlashes(valid.apiBase ?? DEFAULT_YOUZAN_API_BASE),
  });
}
