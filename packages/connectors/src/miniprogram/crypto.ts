import { DatongError } from '@datong/core';
import { aesCbcDecrypt } from '../kit/crypto.js';
import type { OpenData } from './payloads.js';

// Standard base64 with padding, as WeChat sends session_key, iv and encryptedData.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeBase64(value: string, field: string, expectedLength?: number): Buffer {
  if (value === '' || !BASE64.test(value)) {
    throw new DatongError('WECHAT_DECRYPT_FAILED', `${field} is not valid base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new DatongError('WECHAT_DECRYPT_FAILED', `${field} must decode to ${expectedLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decrypts mini-program open data (`encryptedData` + `iv` from wx.getUserInfo, wx.getWeRunData,
 * share info, …) with the user's session_key and checks that the watermark names this app.
 *
 * Algorithm, per "开放数据校验与解密"
 * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html):
 * AES-128-CBC with PKCS#7 padding; key = Base64_Decode(session_key), 16 bytes;
 * iv = Base64_Decode(iv); ciphertext = Base64_Decode(encryptedData).
 *
 * Throws WECHAT_DECRYPT_FAILED for bad base64, lengths, padding, UTF-8 or JSON, and
 * WECHAT_WATERMARK_MISMATCH when `watermark.appid` is missing or names another app. No
 * detail ever contains the session key.
 *
 * @example
 * const data = decryptOpenData(sessionKey, body.encryptedData, body.iv, config.appId);
 * data.openId; // unknown: check before use
 */
export function decryptOpenData(
  sessionKeyB64: string,
  encryptedDataB64: string,
  ivB64: string,
  expectedAppId: string,
): OpenData {
  const key = decodeBase64(sessionKeyB64, 'session_key', 16);
  const iv = decodeBase64(ivB64, 'iv', 16);
  const data = decodeBase64(encryptedDataB64, 'encryptedData');
  if (data.length === 0 || data.length % 16 !== 0) {
    throw new DatongError('WECHAT_DECRYPT_FAILED', 'encryptedData is not a whole number of AES blocks');
  }

  // AES-CBC has no integrity check: a wrong key or a changed byte shows up as bad padding,
  // invalid UTF-8 or broken JSON, and the watermark check below is the last line.
  let text: string;
  try {
    text = UTF8.decode(aesCbcDecrypt(key, iv, data));
  } catch (cause) {
    throw new DatongError('WECHAT_DECRYPT_FAILED', 'encryptedData did not decrypt with this session_key and iv', {
      cause,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No cause on purpose: V8's SyntaxError quotes the input, which is personal data.
    throw new DatongError('WECHAT_DECRYPT_FAILED', 'decrypted open data is not JSON');
  }
  if (!isRecord(parsed)) {
    throw new DatongError('WECHAT_DECRYPT_FAILED', 'decrypted open data is not a JSON object');
  }

  const watermark = parsed['watermark'];
  if (!isRecord(watermark) || typeof watermark['appid'] !== 'string') {
    throw new DatongError('WECHAT_WATERMARK_MISMATCH', 'decrypted open data has no watermark.appid');
  }
  if (watermark['appid'] !== expectedAppId) {
    throw new DatongError('WECHAT_WATERMARK_MISMATCH', 'watermark.appid does not match this mini-program', {
      meta: { expectedAppId, watermarkAppId: watermark['appid'] },
    });
  }
  return parsed as OpenData;
}
