import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { aesCbcDecrypt, aesCbcEncrypt, hmacHex, timingSafeEqualStr } from './crypto.js';

describe('timingSafeEqualStr', () => {
  it('returns true for identical strings', () => {
    expect(timingSafeEqualStr('a1b2c3', 'a1b2c3')).toBe(true);
    expect(timingSafeEqualStr('', '')).toBe(true);
  });

  it('returns false for strings of equal length that differ', () => {
    expect(timingSafeEqualStr('a1b2c3', 'a1b2c4')).toBe(false);
  });

  it('returns false instead of throwing when the lengths differ', () => {
    // crypto.timingSafeEqual throws RangeError on unequal lengths; callers must get a plain "no".
    expect(timingSafeEqualStr('abc', 'abcd')).toBe(false);
  });

  it('compares UTF-8 bytes, so different characters of equal UTF-16 length do not collide', () => {
    expect(timingSafeEqualStr('é', 'e')).toBe(false);
  });
});

describe('hmacHex', () => {
  // RFC 4231 §4.3 (test case 2) and RFC 2202 §3 (test case 2).
  it('matches RFC 4231 test case 2 for HMAC-SHA256', () => {
    expect(hmacHex('sha256', 'Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('matches RFC 2202 test case 2 for HMAC-SHA1', () => {
    expect(hmacHex('sha1', 'Jefe', 'what do ya want for nothing?')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
  });
});

describe('aesCbcEncrypt / aesCbcDecrypt', () => {
  // NIST SP 800-38A, Appendix F.2.1 / F.2.2 (CBC-AES128), no padding.
  const key = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
  const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const plaintext = Buffer.from(
    '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51' +
      '30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
    'hex',
  );
  const ciphertext = Buffer.from(
    '7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2' +
      '73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7',
    'hex',
  );

  it('encrypts the NIST SP 800-38A CBC-AES128 vector byte for byte', () => {
    expect(aesCbcEncrypt(key, iv, plaintext, { autoPadding: false }).toString('hex')).toBe(ciphertext.toString('hex'));
  });

  it('decrypts the NIST SP 800-38A CBC-AES128 vector byte for byte', () => {
    expect(aesCbcDecrypt(key, iv, ciphertext, { autoPadding: false }).toString('hex')).toBe(plaintext.toString('hex'));
  });

  it('round-trips with PKCS#7 padding for every key size', () => {
    for (const size of [16, 24, 32]) {
      const k = randomBytes(size);
      const v = randomBytes(16);
      const message = Buffer.from('{"hello":"数据"}', 'utf8');
      const encrypted = aesCbcEncrypt(k, v, message);
      expect(encrypted.length % 16).toBe(0);
      expect(aesCbcDecrypt(k, v, encrypted).equals(message)).toBe(true);
    }
  });

  it('rejects a key of an unsupported length with INTERNAL', () => {
    const error = (() => {
      try {
        aesCbcDecrypt(randomBytes(20), iv, ciphertext);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DatongError);
    expect((error as DatongError).code).toBe('INTERNAL');
  });

  it('rejects an IV that is not 16 bytes', () => {
    expect(() => aesCbcDecrypt(key, randomBytes(12), ciphertext)).toThrow(DatongError);
  });

  it('lets node:crypto report a bad PKCS#7 padding', () => {
    const padded = aesCbcEncrypt(key, iv, plaintext.subarray(0, 20));
    // Changing the last ciphertext block scrambles the plaintext block that carries the padding.
    padded[padded.length - 1] = (padded[padded.length - 1] ?? 0) ^ 0x01;
    expect(() => aesCbcDecrypt(key, iv, padded)).toThrow(/bad decrypt/);
  });
});
