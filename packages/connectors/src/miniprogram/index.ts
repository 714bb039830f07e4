import type { TSchema } from '@sinclair/typebox';
import { createMiniprogramClient, type MiniprogramClient, type MiniprogramClientDeps } from './client.js';
import { miniprogramConfigSchema, parseMiniprogramConfig, type MiniprogramConfig } from './config.js';
import { decryptOpenData } from './crypto.js';
import type { OpenData } from './payloads.js';

export {
  clearMiniprogramTokenCache,
  createMiniprogramClient,
  type MiniprogramClient,
  type MiniprogramClientDeps,
  type MiniprogramPhone,
  type MiniprogramSession,
} from './client.js';
export {
  DEFAULT_WECHAT_API_BASE,
  miniprogramConfigSchema,
  parseMiniprogramConfig,
  type MiniprogramConfig,
  type MiniprogramConfigInput,
} from './config.js';
export { decryptOpenData } from './crypto.js';
export { WECHAT_ERRCODE_RULES, errorFromErrcode, ruleForErrcode, type WechatApi, type WechatErrcodeRule } from './errors.js';
export {
  startFakeWechatServer,
  type FakeWechatPhone,
  type FakeWechatServer,
  type FakeWechatServerOptions,
  type FakeWechatSession,
} from './fake-server.js';
export type * from './payloads.js';

/**
 * The WeChat mini-program connector: login (code2Session), phone number, access_token, and
 * open-data decryption. It receives no webhooks, so it has no verify/normalize step.
 */
export interface MiniprogramDefinition {
  readonly platform: 'wechat_miniprogram';
  /** TypeBox schema of the connector config; `appSecret` is marked `{ secret: true }`. */
  readonly configSchema: TSchema;
  /** Validates raw config; throws CONNECTOR_CONFIG_INVALID listing every problem. */
  parseConfig(raw: unknown): MiniprogramConfig;
  /** Builds the outbound client; the only part that does I/O. */
  createClient(config: MiniprogramConfig, deps?: MiniprogramClientDeps): MiniprogramClient;
  /** Decrypts `encryptedData` with a session_key and checks its watermark against `expectedAppId`. */
  decryptOpenData(sessionKeyB64: string, encryptedDataB64: string, ivB64: string, expectedAppId: string): OpenData;
}

/**
 * @example
 * const config = miniprogram.parseConfig(storedConfig);
 * const client = miniprogram.createClient(config);
 * const session = await client.code2Session(codeFromWxLogin);
 * const profile = miniprogram.decryptOpenData(session.sessionKey, encryptedData, iv, config.appId);
 */
export const miniprogram: MiniprogramDefinition = Object.freeze({
  platform: 'wechat_miniprogram',
  configSchema: miniprogramConfigSchema,
  parseConfig: parseMiniprogramConfig,
  createClient: createMiniprogramClient,
  decryptOpenData,
});
