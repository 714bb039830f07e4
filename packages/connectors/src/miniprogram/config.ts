import { Type, type Static } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { DatongError } from '@datong/core';

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
 * Validates raw connector config and returns it frozen with defaults applied. Fails closed:
 * every problem is reported at once as CONNECTOR_CONFIG_INVALID (the `errors` extension lists
 * `{ pointer, message }`), and no value is echoed, so a secret cannot leak through the error.
 *
 * @example
 * const config = parseMiniprogramConfig({ appId: 'wx…', appSecret: '…' });
 * config.apiBase; // 'https://api.weixin.qq.com'
 */
export function parseMiniprogramConfig(raw: unknown): MiniprogramConfig {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (pointer: string, message: string): void => {
    // TypeBox reports a missing property twice (required, then wrong type); keep the first.
    if (seen.has(pointer)) return;
    seen.add(pointer);
    problems.push({ pointer: pointer === '' ? '/' : pointer, message });
  };

  for (const error of Value.Errors(miniprogramConfigSchema, raw)) {
    // `format: 'uri'` documents the field for JSON Schema tools; TypeBox has no built-in uri
    // format, so the check below does it instead of a global FormatRegistry entry.
    if (error.type === ValueErrorType.StringFormatUnknown) continue;
    add(error.path, error.message);
  }
  if (typeof raw === 'object' && raw !== null && 'apiBase' in raw && typeof raw.apiBase === 'string') {
    const problem = apiBaseProblem(raw.apiBase);
    if (problem !== undefined) add('/apiBase', problem);
  }

  if (problems.length > 0) {
    throw new DatongError(
      'CONNECTOR_CONFIG_INVALID',
      `WeChat mini-program config is invalid: ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
      { extensions: { errors: problems } },
    );
  }
  // Value.Check cannot narrow here: it fails on the unregistered uri format. The loop above
  // found no problem other than that one.
  const input = raw as MiniprogramConfigInput;
  return Object.freeze({
    appId: input.appId,
    appSecret: input.appSecret,
    apiBase: (input.apiBase ?? DEFAULT_WECHAT_API_BASE).replace(/\/+$/, ''),
  });
}
