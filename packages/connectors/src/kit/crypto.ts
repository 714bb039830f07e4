import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { DatongError } from '@datong/core';

/**
 * Compares two strings in constant time for equal-length inputs. Unequal lengths return
 * false at once: `crypto.timingSafeEqual` throws on them, and the length of a signature
 * or token is not a secret.
 */
export function timingSafeEqualStr(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** HMAC of `data` under `key`, as lower-case hex. `algorithm` is a node:crypto digest name. */
export function hmacHex(algorithm: string, key: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac(algorithm, key).update(data).digest('hex');
}

export interface AesCbcOptions {
  /** PKCS#7 padding; on by default. Turn off when the protocol pads by itself. */
  readonly autoPadding?: boolean;
}

const AES_CBC_BY_KEY_LENGTH: Readonly<Record<number, string>> = {
  16: 'aes-128-cbc',
  24: 'aes-192-cbc',
  32: 'aes-256-cbc',
};

function aesCbcCipherName(key: Uint8Array, iv: Uint8Array): string {
  const name = AES_CBC_BY_KEY_LENGTH[key.length];
  if (name === undefined) {
    throw new DatongError('INTERNAL', `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
  if (iv.length !== 16) {
    throw new DatongError('INTERNAL', `AES-CBC IV must be 16 bytes, got ${iv.length}`);
  }
  return name;
}

/**
 * AES-CBC decryption; the AES variant follows the key length. Errors from node:crypto (bad
 * padding, a length that is not a block multiple) propagate unchanged so that the caller can
 * wrap them in its own platform code.
 */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, options: AesCbcOptions = {}): Buffer {
  const decipher = createDecipheriv(aesCbcCipherName(key, iv), key, iv);
  decipher.setAutoPadding(options.autoPadding ?? true);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** AES-CBC encryption, the inverse of {@link aesCbcDecrypt}. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, options: AesCbcOptions = {}): Buffer {
  const cipher = createCipheriv(aesCbcCipherName(key, iv), key, iv);
  cipher.setAutoPadding(options.autoPadding ?? true);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}
