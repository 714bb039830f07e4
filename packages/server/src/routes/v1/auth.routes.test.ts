import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../security/totp.js';
import { bearer, createHarness, makeSource, send, type Harness } from '../../test-support/harness.js';
import { browser, createUser, loginRequest, signIn, TEST_PASSWORD } from '../../test-support/console-users.js';

let h: Harness;
// Each test that fails sign-ins on purpose uses its own client address, so that the per-address
// lockout of one test does not leak into another.
let nextAddress = 10;
const freshAddress = () => `10.0.0.${nextAddress++}`;

beforeAll(async () => {
  h = await createHarness({ env: { DATONG_TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await h.close();
});

const problemOf = (r: { json: () => Record<string, unknown> }) => {
  const { requestId: _r, instance: _i, ...rest } = r.json();
  return rest;
};

describe('POST /v1/auth/login', () => {
  it('signs in with email and password, and sets an HttpOnly SameSite=Strict session cookie and a readable CSRF cookie', async () => {
    const u = await createUser(h, 'Login.OK@Example.com', 'ops', { name: '运营小王' });
    const r = await loginRequest(h, 'login.ok@example.com');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      user: { id: u.id, email: 'login.ok@example.com', name: '运营小王', locale: 'zh-CN', teamId: null, totpEnabled: false, role: { id: 'ops', builtin: true, dataScope: 'all', maskPii: true } },
      csrfToken: expect.any(String),
    });
    const session = r.cookies.find((c) => c.name === 'datong_session');
    const csrf = r.cookies.find((c) => c.name === 'datong_csrf');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 12 * 3600 });
    expect(session?.secure).toBeUndefined();
    expect(csrf).toMatchObject({ value: r.json().csrfToken, sameSite: 'Strict', path: '/' });
    expect(csrf?.httpOnly).toBeUndefined();
    // Only a hash of the session token is stored.
    const rows = await h.db.query<{ t: string }>('SELECT row_to_json(s)::text AS t FROM user_sessions s');
    expect(rows.rows.map((x) => x.t).join()).not.toContain(session?.value ?? 'none');
  });

  it('marks the cookies Secure when the request came over https (through a trusted proxy)', async () => {
    await createUser(h, 'secure@example.com', 'ops');
    const r = await h.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { email: 'secure@example.com', password: TEST_PASSWORD },
    });
    expect(r.statusCode).toBe(200);
    for (const c of r.cookies) expect(c.secure).toBe(true);
  });

  it('answers a wrong password, an unknown email and a disabled account alike', async () => {
    const ip = freshAddress();
    const u = await createUser(h, 'same.answer@example.com', 'sales');
    const wrong = await loginRequest(h, 'same.answer@example.com', 'not the password', {}, ip);
    const unknown = await loginRequest(h, 'nobody@example.com', 'not the password', {}, ip);
    await h.inject({ method: 'PATCH', url: `/v1/users/${u.id}`, headers: bearer(h.adminKey), payload: { disabled: true } });
    const disabled = await loginRequest(h, 'same.answer@example.com', TEST_PASSWORD, {}, ip);
    for (const r of [wrong, unknown, disabled]) {
      expect(r.statusCode).toBe(401);
      expect(r.headers['content-type']).toContain('application/problem+json');
      expect(r.cookies).toEqual([]);
    }
    expect(problemOf(wrong)).toEqual({ type: '/docs/errors#AUTH_LOGIN_FAILED', title: 'Email or password is wrong', status: 401, code: 'AUTH_LOGIN_FAILED' });
    expect(problemOf(unknown)).toEqual(problemOf(wrong));
    expect(problemOf(disabled)).toEqual(problemOf(wrong));
  });

  it('locks an account after 5 failures with Retry-After, even for the right password, and doubles the lock on the next failure', async () => {
    const ip = freshAddress();
    const t0 = new Date('2031-03-01T08:00:00Z');
    h.setNow(t0);
    try {
      await createUser(h, 'lockme@example.com', 'sales');
      for (let i = 0; i < 5; i++) expect((await loginRequest(h, 'lockme@example.com', 'wrong password', {}, ip)).json().code).toBe('AUTH_LOGIN_FAILED');
      const locked = await loginRequest(h, 'lockme@example.com', TEST_PASSWORD, {}, ip);
      expect(locked.statusCode).toBe(429);
      expect(locked.json().code).toBe('AUTH_LOCKED');
      expect(locked.headers['retry-after']).toBe('60');
      // The lock is per account: another address gets the same answer.
      expect((await loginRequest(h, 'lockme@example.com', TEST_PASSWORD, {}, freshAddress())).statusCode).toBe(429);
      // After the lock, one more failure locks for twice as long.
      h.setNow(new Date(t0.getTime() + 61_000));
      expect((await loginRequest(h, 'lockme@example.com', 'wrong again', {}, ip)).json().code).toBe('AUTH_LOGIN_FAILED');
      expect((await loginRequest(h, 'lockme@example.com', TEST_PASSWORD, {}, ip)).headers['retry-after']).toBe('120');
      h.setNow(new Date(t0.getTime() + 182_000));
      const ok = await loginRequest(h, 'lockme@example.com', TEST_PASSWORD, {}, ip);
      expect(ok.statusCode).toBe(200);
      // A success resets the count.
      expect((await loginRequest(h, 'lockme@example.com', 'wrong', {}, ip)).json().code).toBe('AUTH_LOGIN_FAILED');
      expect((await loginRequest(h, 'lockme@example.com', TEST_PASSWORD, {}, ip)).statusCode).toBe(200);
    } finally {
      h.setNow(new Date());
    }
  });

  it('locks unknown emails like real accounts, so a lockout does not reveal whether an account exists', async () => {
    const ip = freshAddress();
    for (let i = 0; i < 5; i++) expect((await loginRequest(h, 'ghost@example.com', 'guess', {}, ip)).statusCode).toBe(401);
    const r = await loginRequest(h, 'ghost@example.com', 'guess', {}, ip);
    expect(r.statusCode).toBe(429);
    expect(r.json().code).toBe('AUTH_LOCKED');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('locks out an address that fails on many accounts, for every account', async () => {
    const ip = freshAddress();
    await createUser(h, 'victim@example.com', 'sales');
    for (let i = 0; i < 20; i++) expect((await loginRequest(h, `spray${i}@example.com`, 'Summer2031!', {}, ip)).statusCode).toBe(401);
    const r = await loginRequest(h, 'victim@example.com', TEST_PASSWORD, {}, ip);
    expect(r.statusCode).toBe(429);
    expect(r.json().code).toBe('AUTH_LOCKED');
    // The same account from another address is fine.
    expect((await loginRequest(h, 'victim@example.com', TEST_PASSWORD, {}, freshAddress())).statusCode).toBe(200);
  });
});

describe('two-factor sign-in (TOTP)', () => {
  it('enrols with a QR code, then requires a code; a recovery code works once', async () => {
    const t0 = new Date('2031-04-01T09:00:10Z');
    h.setNow(t0);
    try {
      await createUser(h, 'twofa@example.com', 'admin');
      const b = await signIn(h, 'twofa@example.com');
      const setup = await b.inject({ method: 'POST', url: '/v1/auth/totp/setup' });
      expect(setup.statusCode).toBe(200);
      const { secret, otpauthUrl, qrDataUrl } = setup.json();
      expect(otpauthUrl).toContain(`secret=${secret}`);
      expect(qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
      // Not on until a first code confirms the enrolment.
      expect((await loginRequest(h, 'twofa@example.com')).statusCode).toBe(200);
      const bad = await b.inject({ method: 'POST', url: '/v1/auth/totp/enable', payload: { code: '000000' } });
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'AUTH_TOTP_INVALID']);
      const on = await b.inject({ method: 'POST', url: '/v1/auth/totp/enable', payload: { code: totpCode(secret, t0.getTime()) } });
      expect(on.statusCode).toBe(200);
      const codes = on.json().recoveryCodes as string[];
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await b.get('/v1/auth/me')).json().user.totpEnabled).toBe(true);

      // The password alone is no longer enough.
      const ip = freshAddress();
      const step1 = await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, {}, ip);
      expect([step1.statusCode, step1.json().code]).toEqual([401, 'AUTH_TOTP_REQUIRED']);
      expect(step1.cookies).toEqual([]);
      // The code that confirmed the enrolment cannot be replayed.
      const replay = await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, { totpCode: totpCode(secret, t0.getTime()) }, ip);
      expect(replay.json().code).toBe('AUTH_TOTP_REQUIRED');
      h.setNow(new Date(t0.getTime() + 30_000));
      const ok = await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, { totpCode: totpCode(secret, t0.getTime() + 30_000) }, ip);
      expect(ok.statusCode).toBe(200);
      // A wrong password with a right code is still a wrong password.
      const wrongPw = await loginRequest(h, 'twofa@example.com', 'nope nope nope', { totpCode: totpCode(secret, t0.getTime() + 30_000) }, ip);
      expect(wrongPw.json().code).toBe('AUTH_LOGIN_FAILED');

      const code = codes[3] ?? '';
      const rec = await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, { recoveryCode: code.toUpperCase() }, ip);
      expect(rec.statusCode).toBe(200);
      const again = await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, { recoveryCode: code }, ip);
      expect([again.statusCode, again.json().code]).toEqual([401, 'AUTH_TOTP_REQUIRED']);
      const spent = await h.db.query<{ n: number }>("SELECT cardinality(recovery_code_hashes) AS n FROM users WHERE email = 'twofa@example.com'");
      expect(spent.rows[0]?.n).toBe(9);

      // The secret is stored encrypted.
      const raw = await h.db.query<{ t: string }>("SELECT row_to_json(u)::text AS t FROM users u WHERE email = 'twofa@example.com'");
      expect(raw.rows[0]?.t).not.toContain(secret);

      // Turning it off needs the password.
      const b2 = browser(h, rec);
      const noPw = await b2.inject({ method: 'POST', url: '/v1/auth/totp/disable', payload: { password: 'wrong password' } });
      expect([noPw.statusCode, noPw.json().code]).toEqual([403, 'AUTH_PASSWORD_INVALID']);
      expect((await b2.inject({ method: 'POST', url: '/v1/auth/totp/disable', payload: { password: TEST_PASSWORD } })).statusCode).toBe(204);
      expect((await loginRequest(h, 'twofa@example.com', TEST_PASSWORD, {}, ip)).statusCode).toBe(200);
    } finally {
      h.setNow(new Date());
    }
  });
});

describe('sessions', () => {
  it('answers /v1/auth/me with the user and the CSRF token, and 401 without a session', async () => {
    await createUser(h, 'me@example.com', 'finance');
    const b = await signIn(h, 'me@example.com');
    const me = await b.get('/v1/auth/me');
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { email: 'me@example.com', role: { id: 'finance', permissions: ['customers.read', 'customers.export', 'monitor.read'] } }, csrfToken: b.csrf });
    const none = await h.inject({ method: 'GET', url: '/v1/auth/me' });
    expect([none.statusCode, none.json().code]).toEqual([401, 'AUTH_REQUIRED']);
    const forged = await h.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: 'datong_session=dts_forged' } });
    expect(forged.statusCode).toBe(401);
  });

  it('refuses a change without the CSRF token (403), and accepts it with the token', async () => {
    const src = await makeSource(h);
    await send(h, src.writeKey, [{ type: 'identify', messageId: 'csrf-1', userId: 'csrf-user', traits: { name: 'C' } }]);
    await h.drain();
    const id = (await h.inject({ method: 'GET', url: '/v1/customers/lookup?type=user_id&value=csrf-user', headers: bearer(h.adminKey) })).json().id as string;
    await createUser(h, 'csrf@example.com', 'ops');
    const b = await signIn(h, 'csrf@example.com');
    const url = `/v1/customers/${id}/tags`;
    const missing = await h.inject({ method: 'POST', url, headers: { cookie: b.cookie }, payload: { tags: ['vip'] } });
    expect([missing.statusCode, missing.json().code]).toEqual([403, 'AUTH_CSRF_INVALID']);
    const wrong = await h.inject({ method: 'POST', url, headers: { cookie: b.cookie, 'x-csrf-token': 'x'.repeat(32) }, payload: { tags: ['vip'] } });
    expect(wrong.json().code).toBe('AUTH_CSRF_INVALID');
    // Another session's token does not fit this session.
    const other = await signIn(h, 'csrf@example.com');
    expect((await h.inject({ method: 'POST', url, headers: { cookie: b.cookie, 'x-csrf-token': other.csrf }, payload: { tags: ['vip'] } })).statusCode).toBe(403);
    const ok = await b.inject({ method: 'POST', url, payload: { tags: ['vip'] } });
    expect(ok.statusCode).toBe(200);
    // Reads need no token.
    expect((await h.inject({ method: 'GET', url: `/v1/customers/${id}`, headers: { cookie: b.cookie } })).statusCode).toBe(200);
  });

  it('ends a session on logout and clears its cookies', async () => {
    await createUser(h, 'logout@example.com', 'sales');
    const b = await signIn(h, 'logout@example.com');
    expect((await h.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie: b.cookie } })).statusCode).toBe(403);
    const out = await b.inject({ method: 'POST', url: '/v1/auth/logout' });
    expect(out.statusCode).toBe(204);
    const cleared = out.cookies.find((c) => c.name === 'datong_session');
    expect(cleared?.value).toBe('');
    expect((await b.get('/v1/auth/me')).statusCode).toBe(401);
  });

  it('ends a session after 30 idle minutes, and 12 hours after sign-in however active', async () => {
    const t0 = new Date('2031-05-01T08:00:00Z');
    h.setNow(t0);
    try {
      await createUser(h, 'idle@example.com', 'sales');
      const idle = await signIn(h, 'idle@example.com');
      h.setNow(new Date(t0.getTime() + 29 * 60_000));
      expect((await idle.get('/v1/auth/me')).statusCode).toBe(200);
      h.setNow(new Date(t0.getTime() + 29 * 60_000 + 31 * 60_000));
      const expired = await idle.get('/v1/auth/me');
      expect([expired.statusCode, expired.json().code]).toEqual([401, 'AUTH_SESSION_EXPIRED']);

      h.setNow(t0);
      const busy = await signIn(h, 'idle@example.com');
      let t = t0.getTime();
      while (t + 20 * 60_000 < t0.getTime() + 12 * 3_600_000) {
        t += 20 * 60_000;
        h.setNow(new Date(t));
        expect((await busy.get('/v1/auth/me')).statusCode).toBe(200);
      }
      h.setNow(new Date(t0.getTime() + 12 * 3_600_000));
      expect((await busy.get('/v1/auth/me')).json().code).toBe('AUTH_SESSION_EXPIRED');
    } finally {
      h.setNow(new Date());
    }
  });

  it('changes the password: the old one stops working and other sessions end', async () => {
    await createUser(h, 'pw@example.com', 'sales');
    const a = await signIn(h, 'pw@example.com');
    const other = await signIn(h, 'pw@example.com');
    const wrong = await a.inject({ method: 'POST', url: '/v1/auth/password', payload: { currentPassword: 'not it at all', newPassword: 'a brand new secret' } });
    expect([wrong.statusCode, wrong.json().code]).toEqual([403, 'AUTH_PASSWORD_INVALID']);
    const short = await a.inject({ method: 'POST', url: '/v1/auth/password', payload: { currentPassword: TEST_PASSWORD, newPassword: 'short' } });
    expect([short.statusCode, short.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await a.inject({ method: 'POST', url: '/v1/auth/password', payload: { currentPassword: TEST_PASSWORD, newPassword: 'a brand new secret' } })).statusCode).toBe(204);
    expect((await a.get('/v1/auth/me')).statusCode).toBe(200);
    expect((await other.get('/v1/auth/me')).statusCode).toBe(401);
    const ip = freshAddress();
    expect((await loginRequest(h, 'pw@example.com', TEST_PASSWORD, {}, ip)).statusCode).toBe(401);
    expect((await loginRequest(h, 'pw@example.com', 'a brand new secret', {}, ip)).statusCode).toBe(200);
  });

  it('lets a user change their own name and console language', async () => {
    await createUser(h, 'profile@example.com', 'service');
    const b = await signIn(h, 'profile@example.com');
    const r = await b.inject({ method: 'PATCH', url: '/v1/auth/me', payload: { locale: 'en', name: 'Mei' } });
    expect(r.statusCode).toBe(200);
    expect(r.json().user).toMatchObject({ locale: 'en', name: 'Mei' });
  });
});

describe('permissions and API keys', () => {
  it('refuses a route whose permission the role lacks (403 AUTH_PERMISSION_MISSING)', async () => {
    await createUser(h, 'fin@example.com', 'finance');
    await createUser(h, 'sal@example.com', 'sales');
    const fin = await signIn(h, 'fin@example.com');
    const sal = await signIn(h, 'sal@example.com');
    const tag = await fin.inject({ method: 'POST', url: '/v1/customers/cus_x/tags', payload: { tags: ['x'] } });
    expect([tag.statusCode, tag.json().code]).toEqual([403, 'AUTH_PERMISSION_MISSING']);
    expect((await sal.get('/v1/webhooks')).json().code).toBe('AUTH_PERMISSION_MISSING');
    expect((await sal.get('/v1/api-keys')).json().code).toBe('AUTH_PERMISSION_MISSING');
    expect((await sal.get('/v1/users')).json().code).toBe('AUTH_PERMISSION_MISSING');
    expect((await sal.get('/v1/audit-log')).json().code).toBe('AUTH_PERMISSION_MISSING');
    expect((await sal.get('/v1/customers/export')).json().code).toBe('AUTH_PERMISSION_MISSING');
    expect((await fin.get('/v1/customers')).statusCode).toBe(200);
    expect((await fin.get('/v1/customers/export')).statusCode).toBe(200);
  });

  it('applies a role change at the next request', async () => {
    const u = await createUser(h, 'promoted@example.com', 'sales');
    const b = await signIn(h, 'promoted@example.com');
    expect((await b.get('/v1/quarantine')).statusCode).toBe(403);
    await h.inject({ method: 'PATCH', url: `/v1/users/${u.id}`, headers: bearer(h.adminKey), payload: { roleId: 'ops' } });
    expect((await b.get('/v1/quarantine')).statusCode).toBe(200);
  });

  it('leaves API keys as they were: the Authorization header wins over a session cookie', async () => {
    await createUser(h, 'keyuser@example.com', 'admin');
    const b = await signIn(h, 'keyuser@example.com');
    const created = await h.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(h.adminKey), payload: { name: 'reader', scopes: ['read'] } });
    const reader = created.json().key as string;
    // A read key with an admin's session cookie is still a read key.
    const r = await h.inject({ method: 'POST', url: '/v1/customers/cus_x/tags', headers: { ...bearer(reader), cookie: b.cookie, 'x-csrf-token': b.csrf }, payload: { tags: ['a'] } });
    expect([r.statusCode, r.json().code]).toEqual([403, 'AUTH_SCOPE_MISSING']);
    // API keys need no CSRF token, and a junk cookie does not disturb them.
    const ok = await h.inject({ method: 'GET', url: '/v1/customers', headers: { ...bearer(reader), cookie: 'datong_session=junk' } });
    expect(ok.statusCode).toBe(200);
    // Session-only routes do not take API keys.
    expect((await h.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(h.adminKey) })).statusCode).toBe(401);
  });

  it('keeps tenants apart: the same email in two tenants, each seeing only its own data', async () => {
    const other = await h.newTenant();
    await createUser(h, 'twin@example.com', 'admin', { name: 'Default twin' });
    await createUser(h, 'twin@example.com', 'admin', { adminKey: other.adminKey, name: 'Other twin' });
    const src = await makeSource(h, other.adminKey);
    await send(h, src.writeKey, [{ type: 'identify', messageId: 'tw-1', userId: 'other-tenant-user', traits: { name: 'Other Co customer' } }]);
    await h.drain();
    // Without a tenant, the email names the default tenant's user.
    const a = await signIn(h, 'twin@example.com');
    expect((await a.get('/v1/auth/me')).json().user.name).toBe('Default twin');
    const b = await signIn(h, 'twin@example.com', TEST_PASSWORD, { tenantId: other.tenantId });
    expect((await b.get('/v1/auth/me')).json().user.name).toBe('Other twin');
    expect((await b.get('/v1/customers?q=Other')).json().data).toHaveLength(1);
    expect((await a.get('/v1/customers?q=Other%20Co')).json().data).toEqual([]);
    const usersA = (await a.get('/v1/users')).json().data as { name: string }[];
    const usersB = (await b.get('/v1/users')).json().data as { name: string }[];
    expect(usersA.map((u) => u.name)).not.toContain('Other twin');
    expect(usersB.map((u) => u.name)).toEqual(['Other twin']);
  });

  it('never writes passwords or session tokens to the logs', async () => {
    const r = await loginRequest(h, 'me@example.com');
    const token = r.cookies.find((c) => c.name === 'datong_session')?.value ?? 'none';
    await h.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `datong_session=${token}` } });
    const logs = h.logs.join('');
    expect(logs).not.toContain(TEST_PASSWORD);
    expect(logs).not.toContain(token);
  });
});
