import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type ClientRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { DatongError } from '@datong/core';
import { resolveChecked, validateWebhookUrl, type ResolveHost, type ResolveOptions } from './safe-target.js';

/** How much of the receiver's answer is kept for the delivery log. */
export const MAX_RESPONSE_BODY_BYTES = 2048;

const USER_AGENT = 'Datong-Webhooks/1';

export interface DeliverWebhookInput {
  readonly url: string;
  /** Sent byte for byte: it must be the exact string that was signed. */
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Covers the whole attempt: DNS, connect, TLS, response headers and body. */
  readonly timeoutMs: number;
  readonly allowPrivateNetwork: boolean;
  readonly lookup?: ResolveHost;
}

export interface DeliveryResult {
  /** True only for a 2xx answer received in full (or up to MAX_RESPONSE_BODY_BYTES) in time. */
  readonly ok: boolean;
  readonly status: number | null;
  /** Whole milliseconds, from the call to the result. */
  readonly durationMs: number;
  /** The first MAX_RESPONSE_BODY_BYTES bytes of the answer, decoded as UTF-8. */
  readonly responseBody: string;
  /** Why the attempt failed: 'timeout', 'HTTP 500', 'WEBHOOK_URL_FORBIDDEN: …', a socket error. */
  readonly error?: string;
}

/**
 * Makes one delivery attempt. Never rejects for a delivery failure (bad or forbidden URL,
 * DNS, connection, timeout, non-2xx): the result says what happened and the caller records it.
 * Rejects only when `timeoutMs` is not a positive number, a programming error.
 *
 * SSRF: the socket resolves the host through a `lookup` that checks every address and hands
 * only checked addresses to `connect`, so the address connected to is the address checked and
 * a DNS answer that changes between a check and the connection (DNS rebinding) cannot slip
 * through. IP-literal hosts skip `lookup` in `net.connect`, so `validateWebhookUrl` checks them
 * first. No connection is reused (`agent: false`): a pooled socket opened under another policy
 * would bypass the check. Redirects are not followed (Standard Webhooks 1.0.0, "Delivery success
 * and failure": 3xx is a failure).
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  if (!Number.isFinite(input.timeoutMs) || input.timeoutMs <= 0) {
    throw new DatongError('INTERNAL', `webhook timeoutMs must be a positive number, got ${input.timeoutMs}`);
  }
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  let url: URL;
  try {
    url = validateWebhookUrl(input.url, { allowPrivateNetwork: input.allowPrivateNetwork });
  } catch (e) {
    return { ok: false, status: null, durationMs: elapsed(), responseBody: '', error: describeError(e) };
  }

  const lookupOptions: ResolveOptions =
    input.lookup === undefined
      ? { allowPrivateNetwork: input.allowPrivateNetwork }
      : { allowPrivateNetwork: input.allowPrivateNetwork, lookup: input.lookup };
  const options: RequestOptions = {
    method: 'POST',
    headers: {
      'user-agent': USER_AGENT,
      ...input.headers,
      'content-length': String(Buffer.byteLength(input.body, 'utf8')),
    },
    agent: false,
    lookup: checkedLookup(lookupOptions),
  };

  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    let status: number | null = null;
    let received = 0;
    const chunks: Buffer[] = [];
    let req: ClientRequest | undefined;

    const finish = (error: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      const responseBody = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BODY_BYTES).toString('utf8');
      const ok = error === undefined && status !== null && status >= 200 && status < 300;
      resolve({ ok, status, durationMs: elapsed(), responseBody, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => finish('timeout'), input.timeoutMs);

    try {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(url, options, (res) => {
        status = res.statusCode ?? null;
        const answered = (): string | undefined => statusError(status);
        res.on('data', (chunk: Buffer) => {
          if (received < MAX_RESPONSE_BODY_BYTES) chunks.push(chunk);
          received += chunk.length;
          // The rest of a large answer is not needed; stop reading instead of draining it.
          if (received >= MAX_RESPONSE_BODY_BYTES) finish(answered());
        });
        res.on('end', () => finish(answered()));
        res.on('error', (e) => finish(describeError(e)));
        res.on('close', () => finish(res.complete ? answered() : 'connection closed before the response was complete'));
      });
      req.on('error', (e) => finish(describeError(e)));
      req.end(input.body, 'utf8');
    } catch (e) {
      // http.request throws synchronously for, e.g., a header value with a control character.
      finish(describeError(e));
    }
  });
}

function statusError(status: number | null): string | undefined {
  if (status === null) return 'no status code in the response';
  if (status >= 200 && status < 300) return undefined;
  if (status >= 300 && status < 400) return `HTTP ${status}: redirects are not followed; update the webhook URL`;
  return `HTTP ${status}`;
}

/** A `net.connect` lookup that only ever yields addresses `resolveChecked` accepted. */
function checkedLookup(opts: ResolveOptions): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    resolveChecked(hostname, opts).then(
      (addresses) => {
        const usable: LookupAddress[] = addresses
          .filter((a) => (family !== 4 && family !== 6) || a.family === family)
          .map((a) => ({ address: a.address, family: a.family }));
        const first = usable[0];
        if (first === undefined) {
          callback(new DatongError('WEBHOOK_DELIVERY_FAILED', `host "${hostname}" has no IPv${family} address`), '');
        } else if (options.all === true) {
          callback(null, usable);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (e: unknown) => {
        callback(e instanceof Error ? e : new DatongError('INTERNAL', 'host lookup failed', { cause: e }), '');
      },
    );
  };
}

/** A one-line reason, safe to store and show. Node's socket errors name the address, not the URL. */
function describeError(e: unknown): string {
  if (e instanceof AggregateError) {
    // net.connect with several addresses (autoSelectFamily) fails with one error per address.
    const reasons = [...new Set(e.errors.map((inner: unknown) => describeError(inner)))];
    return reasons.length > 0 ? reasons.join('; ') : e.message || 'connection failed';
  }
  if (e instanceof Error) {
    if (e.message !== '') return e.message;
    const code: unknown = Reflect.get(e, 'code');
    return typeof code === 'string' ? code : e.name;
  }
  return String(e);
}
