import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { decryptOpenData } from './crypto.js';

/*
 * Known-answer vector: the official demo of "开放数据校验与解密"
 * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html,
 * sample code download, README of every language), for wx.getUserInfo open data.
 */
const DEMO = {
  appId: 'wx4f4bc4dec97d474b',
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  iv: 'r7BXXKkLb8qrSNn05n0qiA==',
  encryptedData:
    'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZM' +
    'QmRzooG2xrDcvSnxIMXFufNstNGTyaGS' +
    '9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+' +
    '3hVbJSRgv+4lGOETKUQz6OYStslQ142d' +
    'NCuabNPGBzlooOmB231qMM85d2/fV6Ch' +
    'evvXvQP8Hkue1poOFtnEtpyxVLW1zAo6' +
    '/1Xx1COxFvrc2d7UL/lmHInNlxuacJXw' +
    'u0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn' +
    '/Hz7saL8xz+W//FRAUid1OksQaQx4CMs' +
    '8LOddcQhULW4ucetDf96JcR3g0gfRK4P' +
    'C7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB' +
    '6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns' +
    '/8wR2SiRS7MNACwTyrGvt9ts8p12PKFd' +
    'lqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYV' +
    'oKlaRv85IfVunYzO0IKXsyl7JCUjCpoG' +
    '20f0a04COwfneQAGGwd5oa+T8yO5hzuy' +
    'Db/XcxxmK01EpqOyuxINew==',
  decrypted: {
    openId: 'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
    nickName: 'Band',
    gender: 1,
    language: 'zh_CN',
    city: 'Guangzhou',
    province: 'Guangdong',
    country: 'CN',
    avatarUrl:
      'http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0',
    unionId: 'ocMvos6NjeKLIBqg5Mr9QjxrP1FA',
    watermark: { timestamp: 1477314187, appid: 'wx4f4bc4dec97d474b' },
  },
} as const;

function thrown(fn: () => unknown): DatongError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected a DatongError');
}

/** Flips one bit of the byte at `index` of a base64 string and re-encodes it. */
function flipByte(base64: string, index: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

function encryptOpenData(plaintext: string, key: Buffer, iv: Buffer): string {
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

describe('decryptOpenData', () => {
  it('decrypts the official demo vector to the documented fields', () => {
    const data = decryptOpenData(DEMO.sessionKey, DEMO.encryptedData, DEMO.iv, DEMO.appId);
    expect(data).toStrictEqual(DEMO.decrypted);
  });

  it('reproduces the demo plaintext byte for byte', () => {
    // Key order and number formatting matter to anyone re-serialising; pin the exact JSON.
    const data = decryptOpenData(DEMO.sessionKey, DEMO.encryptedData, DEMO.iv, DEMO.appId);
    expect(JSON.stringify(data)).toBe(JSON.stringify(DEMO.decrypted));
  });

  it('rejects the demo data when one byte of the first block is changed', () => {
    // AES-CBC has no MAC: the change garbles the first plaintext block, which is then no
    // longer UTF-8 JSON.
    const error = thrown(() => decryptOpenData(DEMO.sessionKey, flipByte(DEMO.encryptedData, 0), DEMO.iv, DEMO.appId));
    expect(error.code).toBe('WECHAT_DECRYPT_FAILED');
  });

  it('rejects the demo data when one byte of the last block is changed', () => {
    // This one breaks the PKCS#7 padding instead.
    const error = thrown(() => decryptOpenData(DEMO.sessionKey, flipByte(DEMO.encryptedData, 399), DEMO.iv, DEMO.appId));
    expect(error.code).toBe('WECHAT_DECRYPT_FAILED');
  });

  it('rejects the demo data under another session_key', () => {
    const otherKey = 'HyVFkGl5F5OQWJZZaNzBBg==';
    const error = thrown(() => decryptOpenData(otherKey, DEMO.encryptedData, DEMO.iv, DEMO.appId));
    expect(error.code).toBe('WECHAT_DECRYPT_FAILED');
    expect(JSON.stringify({ m: error.message, d: error.detail, meta: error.meta })).not.toContain(otherKey);
  });

  it('rejects the demo data for another mini-program with WECHAT_WATERMARK_MISMATCH', () => {
    // The same user data must not be accepted by app B when it was produced for app A.
    const error = thrown(() => decryptOpenData(DEMO.sessionKey, DEMO.encryptedData, DEMO.iv, 'wx0000000000000000'));
    expect(error.code).toBe('WECHAT_WATERMARK_MISMATCH');
  });

  it('rejects data without a watermark', () => {
    const key = randomBytes(16);
    const iv = randomBytes(16);
    const encrypted = encryptOpenData('{"openId":"o1"}', key, iv);
    const error = thrown(() => decryptOpenData(key.toString('base64'), encrypted, iv.toString('base64'), 'wx1'));
    expect(error.code).toBe('WECHAT_WATERMARK_MISMATCH');
  });

  it('decrypts a vector produced independently with node:crypto', () => {
    // Produced once with createCipheriv('aes-128-cbc') over the JSON below and pinned, so
    // that this test does not depend on the code under test to build its input.
    const vector = {
      sessionKey: 'AAECAwQFBgcICQoLDA0ODw==',
      iv: '8ODQwLCgkIBwYFBAMCAQAA==',
      encryptedData:
        'NXqgm/qlTiH9mL56ixWWLiJV4/mx0zWBQ7tjmN6vBXRfALB4eznJUWx00JSrX6fiKnmqWtR+Yy0EGVVZpEXQm2e5on2O8gaShZ7Q3U+x5ia6' +
        'qMZiMnykVDFjDSnyOvz8HoPdMuwQp8aSDErOt+wk5h7ZnzHO2NdwvJjOtxsCuZ8uaN2qYrlaA1svtbfx3ziDYKSUQ3qE/eTx4b/BCkvxkw==',
      plaintext:
        '{"phoneNumber":"+86 138-0013-8000","purePhoneNumber":"13800138000","countryCode":"86",' +
        '"watermark":{"appid":"wx1234567890abcdef","timestamp":1700000000}}',
    };
    const data = decryptOpenData(vector.sessionKey, vector.encryptedData, vector.iv, 'wx1234567890abcdef');
    expect(JSON.stringify(data)).toBe(vector.plaintext);
  });

  it('round-trips fresh random keys and IVs', () => {
    for (let i = 0; i < 20; i += 1) {
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const plaintext = JSON.stringify({ n: i, nickName: '测试'.repeat(i), watermark: { appid: 'wx1', timestamp: i } });
      const data = decryptOpenData(key.toString('base64'), encryptOpenData(plaintext, key, iv), iv.toString('base64'), 'wx1');
      expect(data).toStrictEqual(JSON.parse(plaintext));
    }
  });

  it('rejects a plaintext that is valid JSON but not an object', () => {
    const key = randomBytes(16);
    const iv = randomBytes(16);
    const error = thrown(() =>
      decryptOpenData(key.toString('base64'), encryptOpenData('[1,2]', key, iv), iv.toString('base64'), 'wx1'),
    );
    expect(error.code).toBe('WECHAT_DECRYPT_FAILED');
  });

  it('rejects a session_key that does not decode to 16 bytes', () => {
    const error = thrown(() => decryptOpenData('AAAA', DEMO.encryptedData, DEMO.iv, DEMO.appId));
    expect(error.code).toBe('WECHAT_DECRYPT_FAILED');
    expect(error.detail).toMatch(/session_key must decode to 16 bytes/);
  });

  it('rejects an iv that does not decode to 16 bytes', () => {
    const error = thrown(() => decryptOpenData(DEMO.sessionKey, DEMO.encryptedData, 'AAAA', DEMO.appId));
    expect(error.detail).toMatch(/iv must decode to 16 bytes/);
  });

  it('rejects strings that are not base64 instead of decoding them leniently', () => {
    // Buffer.from(…, 'base64') skips bad characters; a "+" turned into a space by URL
    // decoding would otherwise decrypt garbage silently.
    const spaced = DEMO.encryptedData.replace(/\+/g, ' ');
    expect(thrown(() => decryptOpenData(DEMO.sessionKey, spaced, DEMO.iv, DEMO.appId)).detail).toMatch(
      /encryptedData is not valid base64/,
    );
    expect(thrown(() => decryptOpenData('tiihtNczf5v6AKRyjwEUhQ', DEMO.encryptedData, DEMO.iv, DEMO.appId)).code).toBe(
      'WECHAT_DECRYPT_FAILED',
    );
    expect(thrown(() => decryptOpenData(DEMO.sessionKey, '', DEMO.iv, DEMO.appId)).code).toBe('WECHAT_DECRYPT_FAILED');
  });

  it('rejects ciphertext that is not a whole number of AES blocks', () => {
    const error = thrown(() => decryptOpenData(DEMO.sessionKey, 'AAAAAAAA', DEMO.iv, DEMO.appId));
    expect(error.detail).toMatch(/whole number of AES blocks/);
  });
});
