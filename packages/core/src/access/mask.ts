/**
 * Display masking of personal data for roles that must not see it whole (issue 3, C13).
 * Pure and total: any input gives a string that reveals at most what the rule allows, and a
 * value too short to keep anything is masked completely.
 */

const STAR = '*';

/** Mainland mobile numbers lose their country code, so every format of one number masks alike. */
function chinaMobile(digits: string): string | null {
  const m = /^(?:0086|86)?(1\d{10})$/.exec(digits);
  return m?.[1] ?? null;
}

/**
 * Phones keep the first 3 and last 4 digits: `13812345678`, `+86 138 1234 5678` → `138****5678`.
 * Other numbers keep a leading `+`, 3 digits and the last 4 when at least 9 digits long; shorter
 * ones keep the last 2 at most.
 */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  const plus = value.trim().startsWith('+') ? '+' : '';
  // `+1 415…` has 11 digits starting with 1 too: with a `+`, only +86 is a mainland number.
  const cn = plus && !digits.startsWith('86') ? null : chinaMobile(digits);
  if (cn) return `${cn.slice(0, 3)}****${cn.slice(-4)}`;
  if (digits.length >= 9) return `${plus}${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length >= 5) return `****${digits.slice(-2)}`;
  return '****';
}

/** Emails keep the first character of the local part and the domain: `zhang@example.com` → `z***@example.com`. */
export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return '***';
  const first = Array.from(value.slice(0, at))[0] ?? '';
  return `${first}***${value.slice(at)}`;
}

/**
 * Names keep their first character, each other character becomes `*` (spaces stay):
 * `张三` → `张*`, `欧阳娜娜` → `欧***`, `Li Lei` → `L* ***`. A one-character name is `*`.
 */
export function maskName(value: string): string {
  const chars = Array.from(value.trim());
  if (chars.length <= 1) return STAR;
  return chars.map((c, i) => (i === 0 || c === ' ' ? c : STAR)).join('');
}

/** Free text such as an address keeps its first 3 characters at most (none when shorter than 6). */
export function maskText(value: string): string {
  const chars = Array.from(value.trim());
  if (chars.length < 6) return '***';
  return `${chars.slice(0, 3).join('')}***`;
}

const NAME_KEYS = new Set(['name', 'firstName', 'first_name', 'lastName', 'last_name', 'nickname', 'nickName', 'realName', 'real_name']);
const PHONE_KEYS = new Set(['phone', 'mobile', 'phoneNumber', 'phone_number', 'purePhoneNumber', 'tel']);
const EMAIL_KEYS = new Set(['email']);
const TEXT_KEYS = new Set(['address', 'street', 'idCard', 'id_card', 'birthday']);

/** Which masking a trait or property key gets, if any. */
export function piiKind(key: string): 'name' | 'phone' | 'email' | 'text' | null {
  if (NAME_KEYS.has(key)) return 'name';
  if (PHONE_KEYS.has(key)) return 'phone';
  if (EMAIL_KEYS.has(key)) return 'email';
  if (TEXT_KEYS.has(key)) return 'text';
  return null;
}

export function maskValue(kind: 'name' | 'phone' | 'email' | 'text', value: string): string {
  switch (kind) {
    case 'name':
      return maskName(value);
    case 'phone':
      return maskPhone(value);
    case 'email':
      return maskEmail(value);
    case 'text':
      return maskText(value);
  }
}

/**
 * Traits (or event properties) with personal values masked, recursively (an address object,
 * nested `traits`). Non-string personal values become `***`; other keys are kept as they are.
 */
export function maskTraits(traits: Readonly<Record<string, unknown>>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(traits)) {
    const kind = piiKind(k);
    if (kind !== null && v !== null && v !== undefined) {
      out[k] = typeof v === 'string' ? maskValue(kind, v) : typeof v === 'number' ? maskValue(kind, String(v)) : '***';
    } else if (depth < 4 && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      out[k] = maskTraits(v as Record<string, unknown>, depth + 1);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Identity values of personal types (phone, email) masked; other identifier types are pseudonymous ids. */
export function maskIdentityValue(type: string, value: string): string {
  if (type === 'phone') return maskPhone(value);
  if (type === 'email') return maskEmail(value);
  return value;
}

/**
 * A spreadsheet cell that cannot run as a formula (OWASP "CSV Injection"): a value starting
 * with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`.
 */
export function spreadsheetSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
