import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { DatongError } from '@datong/core';
import { requestJson, type JsonRequest } from '../kit/http.js';
import { parseMiniprogramConfig, type MiniprogramConfig } from './config.js';
import { errorFromErrcode, ruleForErrcode, type WechatApi } from './errors.js';
import {
  Code2SessionResponse,
  GetUserPhoneNumberResponse,
  StableTokenResponse,
  WechatErrorFields,
  type GetUserPhoneNumberRequest,
  type StableTokenRequest,
} from './payloads.js';

export interface MiniprogramClientDeps {
  /** Clock in epoch milliseconds, for token expiry. Defaults to Date.now. */
  readonly now?: () => number;
  /** Per-request timeout. Defaults to 10 s. */
  readonly timeoutMs?: number;
}

/** The result of code2Session. `sessionKey` is a secret: store it server-side only. */
export interface MiniprogramSession {
  readonly openid: string;
  readonly sessionKey: string;
  readonly unionid?: string;
}

export interface MiniprogramPhone {
  /** With the country code for numbers outside mainland China. */
  readonly phoneNumber: string;
  readonly purePhoneNumber: string;
  readonly countryCode: string;
}

export interface MiniprogramClient {
  /** Exchanges a wx.login code for the user's openid and session_key (code2Session). */
  code2Session(code: string): Promise<MiniprogramSession>;
  /** A valid access_token, from the in-memory cache when it has more than 5 minutes left. */
  getAccessToken(): Promise<string>;
  /** Exchanges a getPhoneNumber button code for the user's phone number. */
  getPhoneNumber(code: string): Promise<MiniprogramPhone>;
  /** Fetches an access_token from WeChat, which proves the AppID and AppSecret. */
  testConnection(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/*
 * Token cache, shared by every client of the same app in this process. The stable token
 * endpoint (getStableAccessToken, normal mode) returns the same token to every caller while
 * it is valid, so several Datong processes do not invalidate each other's tokens as they would
 * with GET /cgi-bin/token. Its doc also says the platform renews the token in its last 5
 * minutes, hence the margin.
 */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

interface CachedToken {
  readonly accessToken: string;
  readonly refreshAt: number;
}

const tokenCache = new Map<string, CachedToken>();
const tokenInFlight = new Map<string, Promise<CachedToken>>();

/** Empties the process-wide access_token cache (tests, or after rotating an AppSecret). */
export function clearMiniprogramTokenCache(): void {
  tokenCache.clear();
}

function errcodeOf(body: unknown): { errcode: number; errmsg: string | undefined } | undefined {
  if (!Value.Check(WechatErrorFields, body)) return undefined;
  if (body.errcode === undefined || body.errcode === 0) return undefined;
  return { errcode: body.errcode, errmsg: body.errmsg };
}

// Codes in WeChat's examples are 32 (wx.login) and 64 (getPhoneNumber) characters; a far
// longer string is not a code and would only inflate the request to WeChat.
const MAX_CODE_LENGTH = 512;

function requireCode(code: string, api: WechatApi): void {
  if (typeof code !== 'string' || code.trim() === '') {
    throw new DatongError('WECHAT_CODE_INVALID', `${api}: code is empty`);
  }
  if (code.length > MAX_CODE_LENGTH) {
    throw new DatongError('WECHAT_CODE_INVALID', `${api}: code is longer than ${MAX_CODE_LENGTH} characters`);
  }
}

/**
 * Outbound client for the WeChat mini-program server API. Fails closed: the config is
 * validated again here, so a client without an AppSecret cannot be built.
 *
 * @example
 * const client = createMiniprogramClient(parseMiniprogramConfig(stored));
 * const { openid, sessionKey } = await client.code2Session(codeFromWxLogin);
 */
export function createMiniprogramClient(config: MiniprogramConfig, deps: MiniprogramClientDeps = {}): MiniprogramClient {
  const { appId, appSecret, apiBase } = parseMiniprogramConfig(config);
  const now = deps.now ?? Date.now;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cacheKey = `${apiBase}\n${appId}`;

  async function call<S extends TSchema>(
    api: WechatApi,
    request: Omit<JsonRequest, 'timeoutMs'>,
    schema: S,
  ): Promise<{ ok: true; body: Static<S> } | { ok: false; errcode: number; errmsg: string | undefined }> {
    const { body } = await requestJson({ ...request, timeoutMs });
    const failure = errcodeOf(body);
    if (failure !== undefined) return { ok: false, ...failure };
    if (!Value.Check(schema, body)) {
      throw new DatongError('PLATFORM_ERROR', `WeChat ${api} answered with an unexpected shape`, {
        meta: { platform: 'wechat_miniprogram', api },
      });
    }
    return { ok: true, body };
  }

  async function fetchToken(): Promise<CachedToken> {
    const request: StableTokenRequest = { grant_type: 'client_credential', appid: appId, secret: appSecret };
    const result = await call(
      'stable_token',
      { method: 'POST', url: `${apiBase}/cgi-bin/stable_token`, body: request },
      StableTokenResponse,
    );
    if (!result.ok) throw errorFromErrcode('stable_token', result.errcode, result.errmsg, [appSecret]);
    const token = {
      accessToken: result.body.access_token,
      refreshAt: now() + result.body.expires_in * 1000 - TOKEN_REFRESH_MARGIN_MS,
    };
    tokenCache.set(cacheKey, token);
    return token;
  }

  function sharedFetch(): Promise<CachedToken> {
    const pending = tokenInFlight.get(cacheKey);
    if (pending !== undefined) return pending;
    const started = fetchToken().finally(() => tokenInFlight.delete(cacheKey));
    tokenInFlight.set(cacheKey, started);
    return started;
  }

  async function getAccessToken(): Promise<string> {
    const cached = tokenCache.get(cacheKey);
    if (cached !== undefined && now() < cached.refreshAt) return cached.accessToken;
    return (await sharedFetch()).accessToken;
  }

  function dropToken(rejected: string): void {
    // Another caller may already have replaced it; only drop the token WeChat rejected.
    if (tokenCache.get(cacheKey)?.accessToken === rejected) tokenCache.delete(cacheKey);
  }

  return {
    async code2Session(code) {
      requireCode(code, 'jscode2session');
      const query = new URLSearchParams({
        appid: appId,
        secret: appSecret,
        js_code: code,
        grant_type: 'authorization_code',
      });
      const result = await call(
        'jscode2session',
        { method: 'GET', url: `${apiBase}/sns/jscode2session?${query.toString()}` },
        Code2SessionResponse,
      );
      if (!result.ok) throw errorFromErrcode('jscode2session', result.errcode, result.errmsg, [appSecret, code]);
      const { openid, session_key: sessionKey, unionid } = result.body;
      return unionid === undefined || unionid === '' ? { openid, sessionKey } : { openid, sessionKey, unionid };
    },

    getAccessToken,

    async getPhoneNumber(code) {
      requireCode(code, 'getuserphonenumber');
      const body: GetUserPhoneNumberRequest = { code };
      const attempt = async (accessToken: string) =>
        call(
          'getuserphonenumber',
          {
            method: 'POST',
            url: `${apiBase}/wxa/business/getuserphonenumber?access_token=${encodeURIComponent(accessToken)}`,
            body,
          },
          GetUserPhoneNumberResponse,
        );

      let accessToken = await getAccessToken();
      let result = await attempt(accessToken);
      if (!result.ok && ruleForErrcode(result.errcode, 'getuserphonenumber').action === 'refresh_token') {
        // The token was revoked or renewed elsewhere (errcode 40001/42001): fetch the current
        // one and retry once. A second rejection is reported, not retried again.
        dropToken(accessToken);
        accessToken = await getAccessToken();
        result = await attempt(accessToken);
      }
      if (!result.ok) {
        throw errorFromErrcode('getuserphonenumber', result.errcode, result.errmsg, [accessToken, code, appSecret]);
      }

      const info = result.body.phone_info;
      if (info.watermark !== undefined && info.watermark.appid !== appId) {
        throw new DatongError('WECHAT_WATERMARK_MISMATCH', 'phone_info.watermark.appid does not match this mini-program', {
          meta: { expectedAppId: appId, watermarkAppId: info.watermark.appid },
        });
      }
      return {
        phoneNumber: info.phoneNumber,
        purePhoneNumber: info.purePhoneNumber,
        countryCode: String(info.countryCode),
      };
    },

    async testConnection() {
      await sharedFetch();
    },
  };
}
