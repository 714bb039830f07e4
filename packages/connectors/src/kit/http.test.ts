import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DatongError } from '@datong/core';
import { parseAnswer, redactUrl, requestJson, requestText } from './http.js';
import { parseJsonKeepingBigInts } from './json.js';

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

describe('requestJson with a platform parser', () => {
  it('keeps a 19-digit id exact with a lossless parser and the caller\'s content type', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200);
      res.end(`{"tid":1172200053212681005,"contentType":${JSON.stringify(req.headers['content-type'])}}`);
    });
    const response = await requestJson({
      method: 'POST',
      url,
      body: {},
      timeoutMs: 5_000,
      headers: { 'content-type': 'application/json;charset=UTF-8' },
      parse: parseJsonKeepingBigInts,
    });
    expect(response.body).toStrictEqual({ tid: '1172200053212681005', contentType: 'application/json;charset=UTF-8' });
  });

  it('gives a body that is not JSON the same error as before, with the caller\'s meta', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      res.end('<html>');
    });
    const error = await failure(requestJson({ method: 'POST', url: `${url}/auth/token`, body: {}, timeoutMs: 5_000, meta: { platform: 'youzan', api: 'auth.token' } }));
    expect(error.code).toBe('PLATFORM_ERROR');
    expect(error.detail).toBe(`POST ${url}/auth/token answered 200 with a body that is not JSON`);
    expect(error.meta).toStrictEqual({ platform: 'youzan', api: 'auth.token', target: `POST ${url}/auth/token`, status: 200, bodyLength: 6 });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

describe('requestText', () => {
  it('sends the body and headers as given and answers the text untouched', async () => {
    const url = await serve((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        res.writeHead(200);
        res.end(`${req.method} ${String(req.headers['content-type'])} ${raw} {"id":1172200053212681005}`);
      });
    });
    const response = await requestText({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: 'a=1&b=2',
      timeoutMs: 5_000,
    });
    expect(response).toStrictEqual({ status: 200, text: 'POST application/x-www-form-urlencoded;charset=utf-8 a=1&b=2 {"id":1172200053212681005}' });
  });

  it('names the call by its target and adds the caller\'s meta to the status errors', async () => {
    const url = await serve((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/busy') res.writeHead(429, { 'retry-after': '3' });
      else res.writeHead(path === '/down' ? 503 : 403);
      res.end();
    });
    const meta = { platform: 'taobao', api: 'taobao.trade.fullinfo.get' };
    const target = `POST ${url}/busy taobao.trade.fullinfo.get`;
    const busy = await failure(requestText({ method: 'POST', url: `${url}/busy?session=S3CRET`, timeoutMs: 5_000, target, meta }));
    expect(busy.code).toBe('PLATFORM_RATE_LIMITED');
    expect(busy.detail).toBe(`${target} answered 429`);
    expect(busy.meta).toStrictEqual({ ...meta, target, status: 429, retryAfter: '3' });

    const down = await failure(requestText({ method: 'GET', url: `${url}/down?sig=S3CRET`, timeoutMs: 5_000, meta }));
    expect(down.code).toBe('PLATFORM_UNREACHABLE');
    expect(down.detail).toBe(`GET ${url}/down answered 503`);
    expect(down.meta).toStrictEqual({ ...meta, target: `GET ${url}/down`, status: 503 });

    const forbidden = await failure(requestText({ method: 'GET', url: `${url}/no?sig=S3CRET`, timeoutMs: 5_000 }));
    expect(forbidden.code).toBe('PLATFORM_ERROR');
    expect(forbidden.detail).toBe(`GET ${url}/no answered 403`);
    expect(JSON.stringify([busy, down, forbidden].map((e) => ({ d: e.detail, m: e.meta })))).not.toContain('S3CRET');
  });

  it('leaves Retry-After out when the caller does not report it', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(429, { 'retry-after': '3' });
      res.end();
    });
    const error = await failure(requestText({ method: 'GET', url, timeoutMs: 5_000, meta: { platform: 'meituan' }, reportRetryAfter: false }));
    expect(error.code).toBe('PLATFORM_RATE_LIMITED');
    expect(error.meta).toStrictEqual({ platform: 'meituan', target: `GET ${url}/`, status: 429 });
  });

  it('maps a timeout to PLATFORM_UNREACHABLE with the caller\'s meta', async () => {
    const url = await serve(() => {
      // Never answers.
    });
    const error = await failure(requestText({ method: 'GET', url, timeoutMs: 50, meta: { platform: 'doudian' } }));
    expect(error.code).toBe('PLATFORM_UNREACHABLE');
    expect(error.detail).toBe(`GET ${url}/ timed out after 50 ms`);
    expect(error.meta).toStrictEqual({ platform: 'doudian', target: `GET ${url}/` });
  });
});

describe('parseAnswer', () => {
  it('answers what the parser gives', () => {
    expect(parseAnswer('{"p_id":4781320682406083640}', parseJsonKeepingBigInts, 'unused')).toStrictEqual({ p_id: '4781320682406083640' });
  });

  it('turns a parse failure into PLATFORM_ERROR with the given message and meta, keeping the cause', () => {
    let error: unknown;
    try {
      parseAnswer('<html>', parseJsonKeepingBigInts, 'Douyin shop token.create answered with a body that is not JSON', {
        platform: 'doudian',
        api: 'token.create',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DatongError);
    const e = error as DatongError;
    expect(e.code).toBe('PLATFORM_ERROR');
    expect(e.detail).toBe('Douyin shop token.create answered with a body that is not JSON');
    expect(e.meta).toStrictEqual({ platform: 'doudian', api: 'token.create' });
    expect(e.cause).toBeInstanceOf(SyntaxError);
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
