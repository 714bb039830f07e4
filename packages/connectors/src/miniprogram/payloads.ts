import { Type, type Static } from '@sinclair/typebox';

/*
 * WeChat server API payloads, in WeChat's own field names. Unknown fields are allowed (the
 * platform adds fields without notice) and are never read.
 *
 * - code2Session: https://developers.weixin.qq.com/miniprogram/dev/server/API/user-login/api_code2session.html
 * - getStableAccessToken: https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-access-token/api_getstableaccesstoken.html
 * - getPhoneNumber: https://developers.weixin.qq.com/miniprogram/dev/server/API/user-info/phone-number/api_getphonenumber.html
 * - open data: https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html
 */

/** Every WeChat answer may carry these; `errcode` absent or 0 means success. */
export const WechatErrorFields = Type.Object({
  errcode: Type.Optional(Type.Number()),
  errmsg: Type.Optional(Type.String()),
});
export type WechatErrorFields = Static<typeof WechatErrorFields>;

/** GET /sns/jscode2session answer on success. */
export const Code2SessionResponse = Type.Object({
  openid: Type.String({ minLength: 1 }),
  session_key: Type.String({ minLength: 1 }),
  unionid: Type.Optional(Type.String()),
  errcode: Type.Optional(Type.Number()),
  errmsg: Type.Optional(Type.String()),
});
export type Code2SessionResponse = Static<typeof Code2SessionResponse>;

/** POST /cgi-bin/stable_token request body. */
export interface StableTokenRequest {
  readonly grant_type: 'client_credential';
  readonly appid: string;
  readonly secret: string;
  readonly force_refresh?: boolean;
}

/** POST /cgi-bin/stable_token answer on success. `expires_in` is in seconds. */
export const StableTokenResponse = Type.Object({
  access_token: Type.String({ minLength: 1 }),
  expires_in: Type.Number(),
});
export type StableTokenResponse = Static<typeof StableTokenResponse>;

/** The `watermark` WeChat adds to open data and to phone numbers. */
export const Watermark = Type.Object({
  appid: Type.String(),
  timestamp: Type.Number(),
});
export type Watermark = Static<typeof Watermark>;

/** POST /wxa/business/getuserphonenumber request body. */
export interface GetUserPhoneNumberRequest {
  readonly code: string;
}

/**
 * POST /wxa/business/getuserphonenumber answer on success. The doc's table types
 * `countryCode` as string but its example sends the number 86, so both are accepted.
 */
export const GetUserPhoneNumberResponse = Type.Object({
  errcode: Type.Optional(Type.Number()),
  errmsg: Type.Optional(Type.String()),
  phone_info: Type.Object({
    phoneNumber: Type.String(),
    purePhoneNumber: Type.String(),
    countryCode: Type.Union([Type.String(), Type.Number()]),
    watermark: Type.Optional(Watermark),
  }),
});
export type GetUserPhoneNumberResponse = Static<typeof GetUserPhoneNumberResponse>;

/**
 * Decrypted open data (wx.getUserInfo, wx.getWeRunData, share info, …). Only `watermark.appid`
 * is checked by decryptOpenData; every other field depends on the API that produced
 * `encryptedData` and must be checked before use.
 */
export interface OpenData {
  readonly watermark: { readonly appid: string; readonly timestamp?: unknown; readonly [field: string]: unknown };
  readonly [field: string]: unknown;
}
