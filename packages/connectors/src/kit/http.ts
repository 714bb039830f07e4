import { DatongError } from '@datong/core';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface JsonRequest {
  readonly method: HttpMethod;
  readonly url: string;
  /** Serialised with JSON.stringify and sent as application/json. */
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
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
 * One JSON request over the global fetch, with a timeout. The body is parsed as JSON whatever
 * the Content-Type says, because some platforms answer JSON as text/plain.
 *
 * Throws DatongError: PLATFORM_UNREACHABLE for network errors, timeouts and 5xx;
 * PLATFORM_RATE_LIMITED for 429; PLATFORM_ERROR for other non-2xx answers and for a 2xx
 * answer that is not JSON.
 */
export async function requestJson(request: JsonRequest): Promise<JsonResponse> {
  const target = `${request.method} ${redactUrl(request.url)}`;
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  const init: RequestInit = { method: request.method, headers, signal: AbortSignal.timeout(request.timeoutMs) };
  if (request.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(request.body);
  }

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
      { cause, meta: { target } },
    );
  }

  if (status === 429) {
    throw new DatongError('PLATFORM_RATE_LIMITED', `${target} answered 429`, {
      meta: { target, status, retryAfter },
    });
  }
  if (status >= 500) {
    throw new DatongError('PLATFORM_UNREACHABLE', `${target} answered ${status}`, { meta: { target, status } });
  }
  if (status < 200 || status >= 300) {
    throw new DatongError('PLATFORM_ERROR', `${target} answered ${status}`, { meta: { target, status } });
  }

  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch (cause) {
    throw new DatongError('PLATFORM_ERROR', `${target} answered ${status} with a body that is not JSON`, {
      cause,
      meta: { target, status, bodyLength: text.length },
    });
  }
}
