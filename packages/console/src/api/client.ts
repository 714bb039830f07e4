// The one way the console talks to the server: same-origin fetch with the session cookie,
// the CSRF header on every change, and problem+json errors turned into ApiError.
import type { Problem } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly problem: Problem | null;
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem | null, fallback: string, retryAfter: number | null = null) {
    super(problem?.detail ?? problem?.title ?? fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'NETWORK' : 'HTTP_' + String(status));
    this.title = problem?.title ?? fallback;
    this.detail = problem?.detail;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** Tells the app that the session is gone (the sign-in page takes over). */
export const UNAUTHORIZED_EVENT = 'datong:unauthorized';

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Do not announce a 401 (the sign-in call itself). */
  quiet401?: boolean;
  /** Extra request headers (e.g. Accept-Language for answers worded for a person). */
  headers?: Record<string, string>;
}

async function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers, accept: 'application/json, application/problem+json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken ?? cookie('datong_csrf');
    if (token) headers['x-csrf-token'] = token;
  }
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, null, e instanceof Error ? e.message : 'Network error');
  }
  if (res.ok) return res;
  let problem: Problem | null = null;
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      problem = (await res.json()) as Problem;
    } catch {
      problem = null;
    }
  }
  const retry = Number(res.headers.get('retry-after'));
  const err = new ApiError(res.status, problem, res.statusText || `HTTP ${res.status}`, Number.isFinite(retry) && retry > 0 ? retry : null);
  if (res.status === 401 && !opts.quiet401 && err.code !== 'AUTH_TOTP_REQUIRED' && err.code !== 'AUTH_LOGIN_FAILED') {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT));
  }
  throw err;
}

export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) return (await res.text()) as T;
  return (await res.json()) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  api<T>('GET', path, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body === undefined ? {} : { body });
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, { body });
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, { body });
export const del = <T = void>(path: string, body?: unknown) => api<T>('DELETE', path, body === undefined ? {} : { body });

/** Downloads a file answer (exports) and saves it under the server's file name. */
export async function download(path: string, query: Query, fallbackName: string): Promise<void> {
  const res = await send('GET', withQuery(path, query), {});
  const blob = await res.blob();
  const disposition = res.headers.get('content-disposition') ?? '';
  const m = /filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i.exec(disposition);
  const name = m ? decodeURIComponent(m[1] ?? m[2] ?? fallbackName) : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Every page of a cursor-paginated list, up to `max` items (charts, exports of small lists). */
export async function collect<T>(path: string, query: Query, max: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page: { data: T[]; nextCursor: string | null } = await get(path, { ...query, limit: 200, cursor });
    out.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out.slice(0, max);
}
