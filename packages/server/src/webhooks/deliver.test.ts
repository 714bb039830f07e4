import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getDefaultAutoSelectFamily, setDefaultAutoSelectFamily } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { deliverWebhook, MAX_RESPONSE_BODY_BYTES, type DeliverWebhookInput } from './deliver.js';
import { resolveAndCheck, type ResolveHost } from './safe-target.js';
import { generateWebhookSecret, webhookHeaders } from './signing.js';

// Every server binds to 127.0.0.1. Tests that name another address never connect to it: the
// delivery is refused before `connect`, which the connection counters show where it matters.

interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface TestServer {
  readonly port: number;
  readonly url: string;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  readonly requests: ReceivedRequest[];
}

type Handler = (req: ReceivedRequest, res: ServerResponse) => void;

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function startServer(handler: Handler): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method,
        url: req.url,
        headers: stringHeaders(req),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      handler(received, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const state: TestServer = {
    port: address.port,
    url: `http://127.0.0.1:${address.port}/hooks/datong`,
    connections: 0,
    requests,
  };
  server.on('connection', () => {
    state.connections += 1;
  });
  return state;
}

function stringHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** An injected resolver that answers every name with fixed addresses and counts its calls. */
function fakeResolver(...addresses: string[]): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const BODY = JSON.stringify({ type: 'customer.created', timestamp: '2024-05-01T08:00:00Z', data: { id: 'cus_1' } });

function input(url: string, overrides: Partial<DeliverWebhookInput> = {}): DeliverWebhookInput {
  return {
    url,
    body: BODY,
    headers: { 'content-type': 'application/json' },
    timeoutMs: 5_000,
    allowPrivateNetwork: true,
    ...overrides,
  };
}

describe('deliverWebhook', () => {
  it('delivers a signed webhook the receiver verifies with the standardwebhooks library', async () => {
    const secret = generateWebhookSecret();
    const server = await startServer((req, res) => {
      try {
        new Webhook(secret).verify(req.body, req.headers);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('accepted');
      } catch {
        res.writeHead(401).end('bad signature');
      }
    });
    const headers = webhookHeaders(secret, 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', nowSeconds(), BODY);

    const result = await deliverWebhook(input(server.url, { headers }));

    expect(result).toEqual({ ok: true, status: 200, durationMs: expect.any(Number), responseBody: 'accepted' });
    expect(result).not.toHaveProperty('error');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      url: '/hooks/datong',
      body: BODY,
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' },
    });
  });

  it('refuses a loopback URL without opening any connection when private networks are not allowed', async () => {
    const secret = generateWebhookSecret();
    const server = await startServer((_req, res) => res.writeHead(204).end());
    const headers = webhookHeaders(secret, 'msg_1', nowSeconds(), BODY);

    const refused = await deliverWebhook(input(server.url, { headers, allowPrivateNetwork: false }));

    expect(refused).toMatchObject({ ok: false, status: null, responseBody: '' });
    expect(refused.error).toMatch(/^WEBHOOK_URL_FORBIDDEN: /);
    expect(JSON.stringify(refused)).not.toContain(secret.slice('whsec_'.length));
    // The server was reachable all along: the follow-up delivery is its first connection.
    await expect(deliverWebhook(input(server.url, { headers }))).resolves.toMatchObject({ ok: true });
    expect(server.connections).toBe(1);
  });

  it('refuses a host name that resolves to loopback, checking the resolved address not the name', async () => {
    const server = await startServer((_req, res) => res.writeHead(204).end());
    const lookup = fakeResolver('127.0.0.1');

    const refused = await deliverWebhook(
      input(`http://hooks.datong.test:${server.port}/`, { allowPrivateNetwork: false, lookup }),
    );

    expect(refused).toMatchObject({ ok: false, status: null });
    expect(refused.error).toMatch(/^WEBHOOK_URL_FORBIDDEN: host "hooks.datong.test" resolves to/);
    expect(lookup.calls).toEqual(['hooks.datong.test']);
    await expect(deliverWebhook(input(server.url))).resolves.toMatchObject({ ok: true });
    expect(server.connections).toBe(1);
  });

  // These addresses are checked at the resolution step only: a test must never be able to open a
  // connection off this machine, even if the check regressed (the delivery path is covered above
  // with loopback, which is forbidden just the same).
  it.each(['10.0.0.1', '169.254.169.254', '::ffff:10.0.0.1', '100.64.0.1'])(
    'refuses a host name that resolves to %s',
    async (address) => {
      const lookup = fakeResolver(address);
      await expect(resolveAndCheck('hooks.datong.test', { allowPrivateNetwork: false, lookup })).rejects.toMatchObject({
        code: 'WEBHOOK_URL_FORBIDDEN',
      });
      expect(lookup.calls).toHaveLength(1);
    },
  );

  it('connects to the address its lookup returned and checked, resolving once', async () => {
    // DNS rebinding needs a second resolution between the check and the connect; there is none.
    const server = await startServer((_req, res) => res.writeHead(204).end());
    const lookup = fakeResolver('127.0.0.1');

    const result = await deliverWebhook(input(`http://hooks.datong.test:${server.port}/in`, { lookup }));

    expect(result).toMatchObject({ ok: true, status: 204, responseBody: '' });
    expect(lookup.calls).toEqual(['hooks.datong.test']);
    expect(server.requests[0]?.headers.host).toBe(`hooks.datong.test:${server.port}`);
  });

  it('uses the checked lookup also when net.connect asks for one address (autoSelectFamily off)', async () => {
    const server = await startServer((_req, res) => res.writeHead(204).end());
    const lookup = fakeResolver('127.0.0.1');
    const previous = getDefaultAutoSelectFamily();
    setDefaultAutoSelectFamily(false);
    try {
      const url = `http://hooks.datong.test:${server.port}/`;
      await expect(deliverWebhook(input(url, { lookup }))).resolves.toMatchObject({ ok: true, status: 204 });
      const refused = await deliverWebhook(input(url, { lookup, allowPrivateNetwork: false }));
      expect(refused.error).toMatch(/^WEBHOOK_URL_FORBIDDEN: /);
    } finally {
      setDefaultAutoSelectFamily(previous);
    }
    expect(server.connections).toBe(1);
  });

  it('reports a 500 as a failure with its status and body', async () => {
    const server = await startServer((_req, res) => res.writeHead(500).end('boom'));
    await expect(deliverWebhook(input(server.url))).resolves.toEqual({
      ok: false,
      status: 500,
      durationMs: expect.any(Number),
      responseBody: 'boom',
      error: 'HTTP 500',
    });
  });

  it('treats a 301 as a failure and does not follow it', async () => {
    // Standard Webhooks 1.0.0, "Delivery success and failure": 3xx is a failure.
    const server = await startServer((req, res) => {
      if (req.url === '/moved') res.writeHead(204).end();
      else res.writeHead(301, { location: `http://127.0.0.1:${server.port}/moved` }).end();
    });
    const result = await deliverWebhook(input(server.url));
    expect(result).toMatchObject({ ok: false, status: 301 });
    expect(result.error).toMatch(/^HTTP 301: redirects are not followed/);
    expect(server.requests.map((r) => r.url)).toEqual(['/hooks/datong']);
  });

  it('gives up with error "timeout" when the receiver never answers', async () => {
    const server = await startServer(() => undefined);
    await expect(deliverWebhook(input(server.url, { timeoutMs: 200 }))).resolves.toEqual({
      ok: false,
      status: null,
      durationMs: expect.any(Number),
      responseBody: '',
      error: 'timeout',
    });
  });

  it('gives up with error "timeout" when the receiver sends a 200 but never ends the body', async () => {
    // The receiver may not have finished; a retry is safe because webhook-id stays the same.
    const server = await startServer((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    const result = await deliverWebhook(input(server.url, { timeoutMs: 300 }));
    expect(result).toMatchObject({ ok: false, status: 200, error: 'timeout' });
  });

  it('reports a refused connection as a failure', async () => {
    const server = await startServer(() => undefined);
    const closed = servers.pop();
    await new Promise<void>((resolve) => closed?.close(() => resolve()));
    const result = await deliverWebhook(input(server.url));
    expect(result).toMatchObject({ ok: false, status: null, responseBody: '' });
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('keeps only the first 2 KB of the response body', async () => {
    const server = await startServer((_req, res) => res.writeHead(200).end('x'.repeat(50_000)));
    const result = await deliverWebhook(input(server.url));
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.responseBody).toBe('x'.repeat(MAX_RESPONSE_BODY_BYTES));
  });

  it('reports an invalid URL as a failure without throwing', async () => {
    const result = await deliverWebhook(input('ftp://hooks.datong.test/'));
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toMatch(/^WEBHOOK_URL_INVALID: /);
  });

  it('reports a name that does not resolve as a failure without throwing', async () => {
    const lookup: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.datong.test'), { code: 'ENOTFOUND' });
    };
    const result = await deliverWebhook(input('http://nowhere.datong.test/', { lookup, allowPrivateNetwork: false }));
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toBe('WEBHOOK_DELIVERY_FAILED: host "nowhere.datong.test" could not be resolved');
  });

  it('rejects a timeout that is not a positive number, a programming error', async () => {
    await expect(deliverWebhook(input('http://hooks.datong.test/', { timeoutMs: 0 }))).rejects.toBeInstanceOf(
      DatongError,
    );
  });
});
