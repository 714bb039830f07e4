import { describe, expect, it } from 'vitest';
import { base32Of, newTotpSecret, otpauthUrl, qrDataUrl, totpCode, totpStep } from './totp.js';

// RFC 6238 Appendix B: the seeds are the ASCII strings below, codes have 8 digits.
const SEED_SHA1 = base32Of(Buffer.from('12345678901234567890', 'ascii'));
const SEED_SHA256 = base32Of(Buffer.from('12345678901234567890123456789012', 'ascii'));
const SEED_SHA512 = base32Of(Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'));
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it('matches the test vectors of RFC 6238 Appendix B for SHA-1, SHA-256 and SHA-512', () => {
    for (const [t, sha1, sha256, sha512] of VECTORS) {
      expect(totpCode(SEED_SHA1, t * 1000, { digits: 8 })).toBe(sha1);
      expect(totpCode(SEED_SHA256, t * 1000, { digits: 8, algorithm: 'SHA256' })).toBe(sha256);
      expect(totpCode(SEED_SHA512, t * 1000, { digits: 8, algorithm: 'SHA512' })).toBe(sha512);
    }
  });

  it('accepts the current code and one step either side, and says which step it was', () => {
    const secret = newTotpSecret();
    const now = 1_700_000_015_000;
    const step = Math.floor(now / 30_000);
    expect(totpStep(secret, totpCode(secret, now), now)).toBe(step);
    expect(totpStep(secret, totpCode(secret, now - 30_000), now)).toBe(step - 1);
    expect(totpStep(secret, totpCode(secret, now + 30_000), now)).toBe(step + 1);
    expect(totpStep(secret, totpCode(secret, now - 90_000), now)).toBeNull();
    expect(totpStep(secret, 'abcdef', now)).toBeNull();
  });

  it('builds an otpauth URL and an SVG QR code for authenticator apps', async () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = otpauthUrl(secret, 'ops@example.com');
    expect(url).toBe(`otpauth://totp/Datong:ops%40example.com?issuer=Datong&secret=${secret}&algorithm=SHA1&digits=6&period=30`);
    const qr = await qrDataUrl(url);
    expect(qr.startsWith('data:image/svg+xml;base64,')).toBe(true);
    expect(Buffer.from(qr.split(',')[1] ?? '', 'base64').toString('utf8')).toContain('<svg');
  });
});
