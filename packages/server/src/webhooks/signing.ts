import { createHmac, randomBytes } from 'node:crypto';
import { DatongError } from '@datong/core';

// Standard Webhooks 1.0.0, "Signature scheme" (github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md): symmetric secrets are serialized as `whsec_` + base64, signatures
// as `v1,` + base64(HMAC-SHA256(key, "{msg_id}.{timestamp}.{payload}")).
const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
// The spec asks for "at least 24 bytes (192 bits)" of random key material.
const SECRET_BYTES = 24;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The spec: the message id must "not be allowed to include any `.`" because `.` delimits the
// signed content. Control characters and spaces are excluded too so the id is a valid header value.
const MSG_ID = /^[\x21-\x2d\x2f-\x7e]+$/;

export type WebhookHeaders = {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
  readonly 'content-type': 'application/json';
};

/** A new signing secret in the Standard Webhooks format: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/**
 * The `webhook-signature` value (`v1,<base64>`) for one message. Throws `INTERNAL` for a malformed
 * secret, message id or timestamp: all three come from Datong, never from the receiver.
 */
export function signPayload(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = decodeSecret(secret);
  if (!MSG_ID.test(msgId)) {
    throw new DatongError('INTERNAL', 'webhook message id must be printable ASCII without "." or spaces');
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new DatongError('INTERNAL', 'webhook timestamp must be a non-negative integer number of seconds');
  }
  const mac = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `${SIGNATURE_VERSION},${mac}`;
}

/** The headers of one delivery attempt. The body must be sent byte for byte as signed. */
export function webhookHeaders(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): WebhookHeaders {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signPayload(secret, msgId, timestampSeconds, body),
    'content-type': 'application/json',
  };
}

function decodeSecret(secret: string): Buffer {
  // The detail never echoes the secret, not even a part of it.
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new DatongError('INTERNAL', `webhook secret must start with "${SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Buffer.from(…, 'base64') silently skips invalid characters, which would sign with a key
  // the receiver does not have; check the alphabet and padding first.
  if (!BASE64.test(encoded)) {
    throw new DatongError('INTERNAL', 'webhook secret is not valid base64 after its prefix');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < SECRET_BYTES) {
    throw new DatongError('INTERNAL', `webhook secret must hold at least ${SECRET_BYTES} bytes`);
  }
  return key;
}
