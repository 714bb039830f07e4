import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { redactUrl, requestJson } from './http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function failure(promise: Promise<unknown>): Promise<DatongError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof DatongError) return e;
    throw e;
  }
  return expect.unreachable('expected the request to fail');
}

describe('requestJson', () => {
  it('sends a JSON body and parses the JSON answer', async () => {
    const url = await serve((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, contentType: req.headers['content-type'], echo: JSON.parse(raw) }));
      });
    });
    const response = await requestJson({ method: 'POST', url: `${url}/x`, body: { code: 'abc' }, timeoutMs: 5_000 });
    expect(response).toEqual({
      status: 200,
      body: { method: 'POST', contentType: 'application/json', echo: { code: 'abc' } },
    });
  });

  it('parses JSON sent with a text/plain content type', async () => {
    // WeChat has been seen answering JSON as text/plain; the content type must not matter.
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('{"openid":"o1"}');
    });
    expect((await requestJson({ method: 'GET', url, timeoutMs: 5_000 })).body).toEqual({ openid: 'o1' });
  });

  it('maps 429 to PLATFORM_RATE_LIMITED', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end();
    });
    const error = await failure(requestJson({ method: 'GET', url, timeoutMs: 5_000 }));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.transient).toBe(true);
    expect(error.meta).toMatchObject({ status: 429, retryAfter: '7' });
  });

  it('maps 5xx to PLATFORM_UNREACHABLE', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(503);
      res.end('busy');
    });
    const error = await failure(requestJson({ method: 'GET', url, timeoutMs: 5_000 }));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.transient).toBe(true);
  });

  it('maps other non-2xx answers to PLATFORM_ERROR', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404);
      res.end('{}');
    });
    const error = await failure(requestJson({ method: 'GET', url, timeoutMs: 5_000 }));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.transient).toBe(false);
  });

  it('maps a 2xx answer that is not JSON to PLATFORM_ERROR', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    });
    expect((await failure(requestJson({ method: 'GET', url, timeoutMs: 5_000 }))).code).toBe('PLATFORM_ERROR');
  });

  it('maps a refused connection to PLATFORM_UNREACHABLE and keeps the cause', async () => {
    const url = await serve(() => undefined);
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const error = await failure(requestJson({ method: 'GET', url, timeoutMs: 5_000 }));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.cause).toBeDefined();
  });

  it('maps a timeout to PLATFORM_UNREACHABLE', async () => {
    const url = await serve(() => {
      // Never answers; the client's AbortSignal.timeout must end the wait.
    });
    const error = await failure(requestJson({ method: 'GET', url, timeoutMs: 50 }));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.detail).toMatch(/timed out/);
  });

  it('keeps the query string, where credentials live, out of the error', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const error = await failure(
      requestJson({ method: 'GET', url: `${url}/sns/jscode2session?secret=TOPSECRET&js_code=c`, timeoutMs: 5_000 }),
    );
    expect(JSON.stringify({ message: error.message, detail: error.detail, meta: error.meta })).not.toContain('TOPSECRET');
  });
});

describe('redactUrl', () => {
  it('drops the query string and the fragment', () => {
    expect(redactUrl('https://api.weixin.qq.com/cgi-bin/x?access_token=T#f')).toBe('https://api.weixin.qq.com/cgi-bin/x');
  });

  it('does not echo a value that is not a URL', () => {
    expect(redactUrl('not a url secret=1')).toBe('(invalid url)');
  });
});
