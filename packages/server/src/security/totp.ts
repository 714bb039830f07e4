import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 TOTP as authenticator apps use it: HMAC-SHA1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;

export interface TotpParams {
  readonly algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
  readonly digits?: number;
}

/** A new random 160-bit secret (RFC 4226 §4 recommends 160 bits), base32 as apps expect. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, p: TotpParams = {}, label = 'Datong'): TOTP {
  return new TOTP({
    issuer: 'Datong',
    label,
    algorithm: p.algorithm ?? 'SHA1',
    digits: p.digits ?? DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function base32Of(bytes: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

/** The code for the time step containing `atMs`. */
export function totpCode(secretBase32: string, atMs: number, p: TotpParams = {}): string {
  return totp(secretBase32, p).generate({ timestamp: atMs });
}

/**
 * The time step of an accepted code (the current one or one either side, for clock drift:
 * RFC 6238 §5.2), or null. The caller refuses a step it already accepted.
 */
export function totpStep(secretBase32: string, code: string, atMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secretBase32).validate({ token: code, timestamp: atMs, window: 1 });
  if (delta === null) return null;
  return Math.floor(atMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

export function otpauthUrl(secretBase32: string, account: string): string {
  return totp(secretBase32, {}, account).toString();
}

/** The otpauth URL as an SVG QR code in a data: URL, for an authenticator app to scan. */
export async function qrDataUrl(url: string): Promise<string> {
  const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}
