import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { generateWebhookSecret, signPayload, webhookHeaders } from './signing.js';

// The test vector of the reference implementations: standard-webhooks/standard-webhooks,
// libraries/javascript/src/webhook.test.ts ("sign function works"), repeated in the Python,
// Go, PHP and Rust libraries and in Svix's.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
} as const;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('signPayload', () => {
  it('reproduces the Standard Webhooks test vector byte for byte', () => {
    expect(signPayload(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });

  it('agrees with the reference library on a fresh secret and a non-ASCII body', () => {
    // A round trip through our own code alone would pass with a wrong delimiter or encoding.
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'customer.merged', data: { name: '张伟', note: 'ok ✓' } });
    const ts = 1_700_000_000;
    expect(signPayload(secret, 'msg_1', ts, body)).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
  });

  it('rejects a message id containing "." because "." delimits the signed content', () => {
    expect(() => signPayload(VECTOR.secret, 'msg.1', VECTOR.timestamp, VECTOR.body)).toThrow(DatongError);
  });

  it('rejects a timestamp that is not a non-negative whole number of seconds', () => {
    expect(() => signPayload(VECTOR.secret, VECTOR.msgId, 1614265330.5, VECTOR.body)).toThrow(DatongError);
    expect(() => signPayload(VECTOR.secret, VECTOR.msgId, -1, VECTOR.body)).toThrow(DatongError);
  });

  it.each([
    ['no whsec_ prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['characters outside base64', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw'],
    ['fewer than 24 bytes', 'whsec_c2hvcnQ='],
    ['an empty key', 'whsec_'],
  ])('refuses a secret with %s instead of signing with a key the receiver lacks', (_case, secret) => {
    expect(() => signPayload(secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body)).toThrow(DatongError);
  });

  it('never puts the secret in its error messages', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw';
    try {
      signPayload(secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DatongError);
      expect(String(e)).not.toContain('MfKQ9r8G');
    }
  });
});

describe('generateWebhookSecret', () => {
  it('returns whsec_ followed by the base64 of 24 bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(24);
  });

  it('returns a different secret each time', () => {
    expect(new Set(Array.from({ length: 20 }, generateWebhookSecret)).size).toBe(20);
  });
});

describe('webhookHeaders', () => {
  it('builds the three Standard Webhooks headers and the JSON content type', () => {
    expect(webhookHeaders(VECTOR.secret, VECTOR.msgId, VECTOR.timestamp, VECTOR.body)).toEqual({
      'webhook-id': VECTOR.msgId,
      'webhook-timestamp': '1614265330',
      'webhook-signature': VECTOR.signature,
      'content-type': 'application/json',
    });
  });

  it('produces headers the standardwebhooks library verifies', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'customer.created', data: { id: 'cus_1' } });
    const headers = webhookHeaders(secret, 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', nowSeconds(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'customer.created', data: { id: 'cus_1' } });
  });

  it('produces headers that fail verification once one byte of the body changes', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'customer.created', data: { id: 'cus_1' } });
    const headers = webhookHeaders(secret, 'msg_1', nowSeconds(), body);
    expect(() => new Webhook(secret).verify(body.replace('cus_1', 'cus_2'), headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('produces headers that fail verification under another secret', () => {
    const body = '{}';
    const headers = webhookHeaders(generateWebhookSecret(), 'msg_1', nowSeconds(), body);
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
  });
});
