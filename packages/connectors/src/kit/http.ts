import { DatongError } from '@datong/core';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TextRequest {
  readonly method: HttpMethod;
  readonly url: string;
  /** Sent as is; the caller sets content-type. */
  readonly body?: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** How error messages name the call. Default: the method and redactUrl(url). Must hold no secret. */
  readonly target?: string;
  /** Added to the meta of every error thrown (e.g. `{ platform, api }`). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /**
   * Whether a 429's Retry-After header goes to the error's `meta.retryAfter` (which the server's
   * pollers honour). Default true.
   */
  readonly reportRetryAfter?: boolean;
}

export interface TextResponse {
  readonly status: number;
  readonly text: string;
}

export interface JsonRequest {
  readonly method: HttpMethod;
  readonly url: string;
  /** Serialised with JSON.stringify and sent as application/json (unless headers set another content-type). */
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Added to the meta of every error thrown (e.g. `{ platform, api }`). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /**
   * Parses the answer's text. Default JSON.parse; a platform whose ids exceed 2^53 passes a
   * lossless parser (kit/json.ts). Whatever it throws makes the answer "not JSON".
   */
  readonly parse?: (text: string) => unknown;
}

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The URL without its query string or fragment. Platforms put credentials in the query
 * (WeChat's `secret` and `access_token`), so only this form may reach error details or logs.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * One HTTP request over the global fetch, with a timeout; answers the status and the body as
 * text, for a caller that parses it itself (losslessly, or after checking a signature).
 *
 * Throws DatongError: PLATFORM_UNREACHABLE for network errors, timeouts and 5xx;
 * PLATFORM_RATE_LIMITED for 429; PLATFORM_ERROR for other non-2xx answers. The meta of each
 * holds `request.meta`, `target` and, from an answer, `status` (and `retryAfter` on a 429).
 *
 * @example
 * const { status, text } = await requestText({ method: 'GET', url, timeoutMs: 10_000, meta: { platform: 'meituan', api } });
 */
export async function requestText(request: TextRequest): Promise<TextResponse> {
  const target = request.target ?? `${request.method} ${redactUrl(request.url)}`;
  const init: RequestInit = { method: request.method, signal: AbortSignal.timeout(request.timeoutMs) };
  if (request.headers !== undefined) init.headers = { ...request.headers };
  if (request.body !== undefined) init.body = request.body;

  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const response = await fetch(request.url, init);
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    text = await response.text();
  } catch (cause) {
    const isTimeout = cause instanceof Error && cause.name === 'TimeoutError';
    throw new DatongError(
      'PLATFORM_UNREACHABLE',
      isTimeout ? `${target} timed out after ${request.timeoutMs} ms` : `${target} failed: network error`,
      { cause, meta: { ...request.meta, target } },
    );
  }

  if (status === 429) {
    throw new DatongError('PLATFORM_RATE_LIMITED', `${target} answered 429`, {
      meta: request.reportRetryAfter === false ? { ...request.meta, target, status } : { ...request.meta, target, status, retryAfter },
    });
  }
  if (status >= 500) {
    throw new DatongError('PLATFORM_UNREACHABLE', `${target} answered ${status}`, { meta: { ...request.meta, target, status } });
  }
  if (status < 200 || status >= 300) {
    throw new DatongError('PLATFORM_ERROR', `${target} answered ${status}`, { meta: { ...request.meta, target, status } });
  }
  return { status, text };
}

/**
 * `parse(text)`, or PLATFORM_ERROR with `message` (and `meta`, the parser's error as the cause)
 * when the text is not JSON.
 *
 * @example
 * const body = parseAnswer(text, parseJsonKeepingBigInts, `${target} answered a body that is not JSON`, { platform: 'taobao' });
 */
export function parseAnswer<T>(text: string, parse: (text: string) => T, message: string, meta?: Readonly<Record<string, unknown>>): T {
  try {
    return parse(text);
  } catch (cause) {
    throw new DatongError('PLATFORM_ERROR', message, { cause, ...(meta === undefined ? {} : { meta: { ...meta } }) });
  }
}

/**
 * One JSON request over the global fetch, with a timeout (requestText). The body is parsed as
 * JSON whatever the Content-Type says, because some platforms answer JSON as text/plain.
 *
 * Throws DatongError: PLATFORM_UNREACHABLE for network errors, timeouts and 5xx;
 * PLATFORM_RATE_LIMITED for 429; PLATFORM_ERROR for other non-2xx answers and for a 2xx
 * answer that is not JSON.
 */
export async function requestJson(request: JsonRequest): Promise<JsonResponse> {
  const target = `${request.method} ${redactUrl(request.url)}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const { status, text } = await requestText({
    method: request.method,
    url: request.url,
    headers: { ...headers, ...request.headers },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    timeoutMs: request.timeoutMs,
    target,
    ...(request.meta === undefined ? {} : { meta: request.meta }),
  });
  const body = parseAnswer(text, request.parse ?? ((t: string): unknown => JSON.parse(t)), `${target} answered ${status} with a body that is not JSON`, {
    ...request.meta,
    target,
    status,
    bodyLength: text.length,
  });
  return { status, body };
}
