import { maskEmail, maskPhone, maskValue, piiKind } from '@datong/core';

/**
 * Masking for the sync monitor's error excerpts (issue 3). Unlike the customer API, whose
 * masking depends on the role, these excerpts are masked for everyone: they show what was
 * wrong with a payload (its shape, its field names), never whose it was. Three nets:
 * personal keys (core's list plus name/phone/email/address look-alikes), identifier objects
 * (`{type: 'phone', value}`), and any email or phone number inside any other string.
 */

type Kind = 'name' | 'phone' | 'email' | 'text';

/** core's keys first, then keys that merely contain a personal word (`buyer_phone`, `receiverName`). */
export function keyKind(key: string): Kind | null {
  const exact = piiKind(key);
  if (exact) return exact;
  const k = key.toLowerCase();
  if (/phone|mobile|^tel$|_tel$|telephone/.test(k)) return 'phone';
  if (/e-?mail/.test(k)) return 'email';
  if (/address|street|idcard|id_card|identity_card|birth/.test(k)) return 'text';
  if (/name/.test(k)) return 'name';
  return null;
}

// An email address anywhere in a string; a phone number: 7 to 15 digits with spaces, dashes or
// brackets between them and an optional leading +, not glued to letters or other digits (so
// order numbers such as E2024010112345678 and long ids stay readable).
const EMAIL = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/g;
const PHONE = /(?<![\w+])\+?\d(?:[ \-()]*\d){6,14}(?!\w)/g;
// Dates (2024-01-01, 2024-01-01 12) have as many digits as a phone number and are no one's.
const DATE = /^\d{4}-\d{1,2}-\d{1,2}/;
// A mainland mobile number sent as a JSON number.
const PHONE_NUMBER = /^(?:86)?1\d{10}$/;

/** Emails and phone numbers inside free text, masked; the rest of the text is kept. */
export function maskFreeText(text: string): string {
  return text.replace(EMAIL, (m) => maskEmail(m)).replace(PHONE, (m) => (DATE.test(m) ? m : maskPhone(m)));
}

function maskScalar(kind: Kind, value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'string' || typeof value === 'number') return maskValue(kind, String(value));
  return '***';
}

const IDENTIFIER_TYPES: Record<string, Kind> = { phone: 'phone', email: 'email' };

/**
 * A copy of `value` with personal data masked, to any depth (objects deeper than 20 levels
 * become `'…'`). Pure; the input is not changed.
 */
export function maskPayload(value: unknown, depth = 0): unknown {
  if (depth > 20) return '…';
  if (typeof value === 'string') return maskFreeText(value);
  if (typeof value === 'number') return PHONE_NUMBER.test(String(value)) ? maskPhone(String(value)) : value;
  if (Array.isArray(value)) return value.map((v) => maskPayload(v, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  // An identifier (Segment externalIds, Datong identities): the type says what the value is.
  const idType = typeof obj['type'] === 'string' ? IDENTIFIER_TYPES[obj['type']] : undefined;
  // A quarantined value: {field: 'traits.phone', value: …}; the field says what the value is.
  const fieldKind = typeof obj['field'] === 'string' ? keyKind(obj['field'].split('.').pop() ?? '') : null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    let masked: unknown;
    const kind = keyKind(k);
    if (kind) masked = maskScalar(kind, v);
    else if (idType && (k === 'value' || k === 'id')) masked = maskScalar(idType, v);
    else if (fieldKind && k === 'value') masked = maskScalar(fieldKind, v);
    else masked = maskPayload(v, depth + 1);
    Object.defineProperty(out, k, { value: masked, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The masked payload as JSON text of at most `max` characters (cut with `…`). */
export function maskedExcerpt(value: unknown, max = 2000): string {
  const text = JSON.stringify(maskPayload(value)) ?? 'null';
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
