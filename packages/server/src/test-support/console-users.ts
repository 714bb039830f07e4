import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { bearer, type Harness } from './harness.js';

export const TEST_PASSWORD = 'correct horse battery';

export interface TestUser {
  readonly id: string;
  readonly email: string;
}

/** Creates a console user through the API with an admin key. */
export async function createUser(
  h: Harness,
  email: string,
  roleId: string,
  opts: { adminKey?: string; teamId?: string; name?: string; password?: string } = {},
): Promise<TestUser> {
  const r = await h.inject({
    method: 'POST',
    url: '/v1/users',
    headers: bearer(opts.adminKey ?? h.adminKey),
    payload: { email, name: opts.name ?? email.split('@')[0], roleId, password: opts.password ?? TEST_PASSWORD, ...(opts.teamId ? { teamId: opts.teamId } : {}) },
  });
  if (r.statusCode !== 201) throw new Error(`user creation failed: ${r.statusCode} ${r.body}`);
  return { id: r.json<{ id: string }>().id, email };
}

/** A signed-in console user: sends the session cookie, and the CSRF header on changes. */
export interface Browser {
  readonly cookie: string;
  readonly csrf: string;
  readonly userId: string;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  get(url: string): Promise<LightMyRequestResponse>;
}

export function browser(h: Harness, res: LightMyRequestResponse): Browser {
  const session = res.cookies.find((c) => c.name === 'datong_session');
  if (res.statusCode !== 200 || !session) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ csrfToken: string; user: { id: string } }>();
  const cookie = `datong_session=${session.value}; datong_csrf=${body.csrfToken}`;
  const inject = (o: InjectOptions) => {
    const method = (o.method ?? 'GET').toString().toUpperCase();
    const headers = { cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': body.csrfToken }), ...((o.headers as Record<string, string>) ?? {}) };
    return h.inject({ ...o, headers });
  };
  return { cookie, csrf: body.csrfToken, userId: body.user.id, inject, get: (url) => inject({ method: 'GET', url }) };
}

export function loginRequest(h: Harness, email: string, password = TEST_PASSWORD, extra: Record<string, string> = {}, remoteAddress = '127.0.0.1') {
  return h.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...extra }, remoteAddress });
}

export async function signIn(h: Harness, email: string, password = TEST_PASSWORD, extra: Record<string, string> = {}): Promise<Browser> {
  return browser(h, await loginRequest(h, email, password, extra));
}
