import { Type, type Static } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { DatongError } from '@datong/core';

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

interface ConfigProblem {
  readonly pointer: string;
  readonly message: string;
}

function apiBaseProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (url.search !== '' || url.hash !== '') return 'must not have a query string or a fragment';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  return undefined;
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
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (pointer: string, message: string): void => {
    if (seen.has(pointer)) return;
    seen.add(pointer);
    problems.push({ pointer: pointer === '' ? '/' : pointer, message });
  };

  for (const error of Value.Errors(doudianConfigSchema, raw)) {
    // TypeBox has no built-in uri format; apiBaseProblem checks it instead.
    if (error.type === ValueErrorType.StringFormatUnknown) continue;
    // Never echo the pattern check's input: for appKey it is harmless, but keep one rule.
    add(error.path, error.type === ValueErrorType.StringPattern ? 'has the wrong format' : error.message);
  }
  if (typeof raw === 'object' && raw !== null && 'apiBase' in raw && typeof raw.apiBase === 'string') {
    const problem = apiBaseProblem(raw.apiBase);
    if (problem !== undefined) add('/apiBase', problem);
  }

  if (problems.length > 0) {
    throw new DatongError(
      'CONNECTOR_CONFIG_INVALID',
      `Douyin shop config is invalid: ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
      { extensions: { errors: problems } },
    );
  }
  const input = raw as DoudianConfigInput;
  return Object.freeze({
    appKey: input.appKey,
    appSecret: input.appSecret,
    shopId: input.shopId,
    apiBase: (input.apiBase ?? DEFAULT_DOUDIAN_API_BASE).replace(/\/+$/, ''),
  });
}
