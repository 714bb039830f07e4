import { describe, expect, it } from 'vitest';
import { newId } from '../ids.js';
import { createKeyring } from './keys.js';
import { pooledHex, pooledRandom } from './random-pool.js';

const master = Buffer.alloc(32, 7);

describe('keyring', () => {
  it('blind indexes stay what they were when stored (known answers), per tenant, cached or not', () => {
    const k = createKeyring(master);
    const input = 'phone\u0000\u0000+8613812345678';
    // HMAC-SHA256(HKDF(master, "datong:blind-index"), tenant ‖ 0x00 ‖ input), base64url, 32 chars:
    // values computed before the cache existed. Stored identities are found by these.
    for (let i = 0; i < 3; i++) {
      expect(k.blindIndex('ten_a', input)).toBe('jzXodg19kfs7DGD-tsqXN7_l5qFTJSG8');
      expect(k.blindIndex('ten_b', input)).toBe('lZSpcBpg0Y7GbqUWbB3afC4lVAXWhkIZ');
    }
    expect(createKeyring(Buffer.alloc(32, 8)).blindIndex('ten_a', input)).not.toBe('jzXodg19kfs7DGD-tsqXN7_l5qFTJSG8');
  });

  it('encrypts with a fresh IV each time, decrypts, and refuses a tampered ciphertext', () => {
    const k = createKeyring(master);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const c = k.encrypt('13812345678');
      const iv = c.split('.')[1] as string;
      expect(seen.has(iv)).toBe(false);
      seen.add(iv);
      expect(k.decrypt(c)).toBe('13812345678');
    }
    const c = k.encrypt('张三 zhang@example.cn');
    expect(k.decrypt(c)).toBe('张三 zhang@example.cn');
    const [v, iv, body] = c.split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(() => k.decrypt(`${v}.${iv}.${flipped.toString('base64url')}`)).toThrow();
    expect(() => createKeyring(Buffer.alloc(32, 8)).decrypt(c)).toThrow();
  });

  it('encrypts bytes in the same format: any bytes back as they were, text and bytes interchangeable', () => {
    const k = createKeyring(master);
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) % 256));
    const c = k.encryptBytes(bytes);
    expect(c.split('.')).toHaveLength(3);
    expect(k.decryptBytes(c).equals(bytes)).toBe(true);
    expect(k.decryptBytes(k.encryptBytes(new Uint8Array(0))).length).toBe(0);
    expect(k.decrypt(k.encryptBytes(Buffer.from('韩梅梅 ✓', 'utf8')))).toBe('韩梅梅 ✓');
    expect(k.decryptBytes(k.encrypt('韩梅梅 ✓')).toString('utf8')).toBe('韩梅梅 ✓');
    const [v, iv, body] = c.split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[500] = (flipped[500] as number) ^ 0x80;
    expect(() => k.decryptBytes(`${v}.${iv}.${flipped.toString('base64url')}`)).toThrow();
  });
});

describe('pooled randomness', () => {
  it('hands out every byte once, across refills of the pool', () => {
    const ids = new Set<string>();
    // 8 bytes an id: 10,000 ids go through the 4 KiB pool about 20 times.
    for (let i = 0; i < 10_000; i++) ids.add(newId('evt', 0));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(/^evt_0{9}[0-9a-f]{16}$/);
    const h1 = pooledHex(4096);
    const h2 = pooledHex(4096);
    expect(h1).toMatch(/^[0-9a-f]{8192}$/);
    expect(h1).not.toBe(h2);
    expect(() => pooledHex(4097)).toThrow(RangeError);
    const a = Buffer.from(pooledRandom(4096));
    const b = Buffer.from(pooledRandom(4096));
    expect(a.equals(b)).toBe(false);
    expect(() => pooledRandom(4097)).toThrow(RangeError);
  });
});
