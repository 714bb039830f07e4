import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { pooledRandom } from './random-pool.js';

/**
 * The server's secret keys, all derived (HKDF-SHA256) from one 32-byte master key so that one
 * value is backed up: PII encryption (AES-256-GCM), blind indexes (HMAC-SHA256) and
 * customer tokens (HMAC-SHA256).
 */
export interface Keyring {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** The same authenticated encryption, of bytes (compressed raw batches). */
  encryptBytes(plaintext: Uint8Array): string;
  decryptBytes(ciphertext: string): Buffer;
  /** Keyed blind index of a value within a tenant; equal inputs give equal outputs. */
  blindIndex(tenantId: string, input: string): string;
  tokenKey: Buffer;
}

const VERSION = 'v1';

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `datong:${info}`, 32));
}

export function createKeyring(master: Buffer): Keyring {
  if (master.length !== 32) throw new RangeError('master key must be 32 bytes');
  const encKey = derive(master, 'pii-encryption');
  const indexKey = derive(master, 'blind-index');
  const tokenKey = derive(master, 'customer-token');
  // The same identifiers come back with most events: remembering the last 50,000 blind indexes
  // saves an HMAC per repeat (the inputs are identifier values, held only in this process's
  // memory, as the messages carrying them are).
  const indexes = new LRUCache<string, string>({ max: 50_000 });
  // Format: v1.<iv b64url>.<ciphertext+tag b64url>. A random 96-bit IV per value (NIST SP 800-38D).
  const encrypt = (plaintext: Uint8Array | string): string => {
    const iv = Buffer.from(pooledRandom(12));
    const c = createCipheriv('aes-256-gcm', encKey, iv);
    const head = typeof plaintext === 'string' ? c.update(plaintext, 'utf8') : c.update(plaintext);
    const body = Buffer.concat([head, c.final(), c.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  };
  const decrypt = (ciphertext: string): Buffer => {
    const [v, ivB64, bodyB64] = ciphertext.split('.');
    if (v !== VERSION || !ivB64 || !bodyB64) throw new Error('unknown ciphertext format');
    const body = Buffer.from(bodyB64, 'base64url');
    const d = createDecipheriv('aes-256-gcm', encKey, Buffer.from(ivB64, 'base64url'));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
  };
  return {
    encrypt,
    decrypt: (ciphertext) => decrypt(ciphertext).toString('utf8'),
    encryptBytes: encrypt,
    decryptBytes: decrypt,
    blindIndex(tenantId, input) {
      const k = `${tenantId}\u0000${input}`;
      let v = indexes.get(k);
      if (v === undefined) {
        v = createHmac('sha256', indexKey).update(k).digest('base64url').slice(0, 32);
        indexes.set(k, v);
      }
      return v;
    },
    tokenKey,
  };
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
