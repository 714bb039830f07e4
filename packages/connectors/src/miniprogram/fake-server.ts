import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqualStr } from '../kit/crypto.js';

/*
 * A local stand-in for api.weixin.qq.com, for tests and `datong simulate`. It follows the
 * request and answer shapes of the official docs (links in payloads.ts): errors come back as
 * HTTP 200 with `{errcode, errmsg}`, codes are single-use, and the stable token behaves as in
 * normal mode (the same token until it expires or is revoked).
 */

export interface FakeWechatServerOptions {
  readonly appId: string;
  readonly appSecret: string;
  /** Lifetime of issued access tokens, in seconds. Defaults to 7200, as on WeChat. */
  readonly tokenTtlSeconds?: number;
  /** Clock in epoch milliseconds. Defaults to Date.now. */
  readonly now?: () => number;
}

export interface FakeWechatSession {
  readonly openid: string;
  readonly sessionKey: string;
  readonly unionid?: string;
}

export interface FakeWechatPhone {
  readonly phoneNumber: string;
  readonly purePhoneNumber: string;
  /** WeChat's doc example sends a number (86), its table says string; both are allowed. */
  readonly countryCode: string | number;
}

export interface FakeWechatServer {
  /** Base URL to use as `apiBase`, e.g. http://127.0.0.1:49152 */
  readonly url: string;
  close(): Promise<void>;
  /** Registers a wx.login code; it can be exchanged once. */
  addCode(code: string, session: FakeWechatSession): void;
  /** Registers a getPhoneNumber button code; it can be exchanged once. */
  addPhoneCode(code: string, phone: FakeWechatPhone): void;
  /** Number of requests received by the token endpoint. */
  readonly tokenFetches: number;
  /**
   * The next request (to `options.path` only, when given) answers this errcode and has no
   * other effect: no code is consumed and no token is issued. Calls queue up in order.
   */
  setFailNext(errcode: number, options?: { readonly errmsg?: string; readonly path?: string }): void;
  /** Invalidates every issued access token, as a force refresh elsewhere would. */
  revokeTokens(): void;
}

type WechatAnswer = Record<string, unknown>;

const ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
};

function wechatError(errcode: number, errmsg?: string): WechatAnswer {
  const rid = randomBytes(4).toString('hex');
  return { errcode, errmsg: `${errmsg ?? ERRMSG[errcode] ?? 'error'} rid: ${rid}` };
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the fake on 127.0.0.1 with an OS-assigned port.
 *
 * @example
 * const fake = await startFakeWechatServer({ appId: 'wx123', appSecret: 's3cret' });
 * fake.addCode('code-1', { openid: 'o-1', sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==' });
 * const client = createMiniprogramClient(parseMiniprogramConfig({ appId: 'wx123', appSecret: 's3cret', apiBase: fake.url }));
 */
export async function startFakeWechatServer(options: FakeWechatServerOptions): Promise<FakeWechatServer> {
  const now = options.now ?? Date.now;
  const ttlSeconds = options.tokenTtlSeconds ?? 7200;
  const codes = new Map<string, FakeWechatSession>();
  const phoneCodes = new Map<string, FakeWechatPhone>();
  let current: { token: string; expiresAt: number } | undefined;
  let tokenFetches = 0;
  const failures: { answer: WechatAnswer; path: string | undefined }[] = [];

  function checkApp(appid: unknown, secret: unknown): WechatAnswer | undefined {
    if (typeof appid !== 'string' || appid === '') return wechatError(41002);
    if (appid !== options.appId) return wechatError(40013);
    if (typeof secret !== 'string' || secret === '') return wechatError(41004);
    if (!timingSafeEqualStr(secret, options.appSecret)) return wechatError(40125);
    return undefined;
  }

  function jscode2session(req: IncomingMessage, query: URLSearchParams): WechatAnswer {
    if (req.method !== 'GET') return wechatError(43001);
    const appError = checkApp(query.get('appid'), query.get('secret'));
    if (appError !== undefined) return appError;
    if (query.get('grant_type') !== 'authorization_code') return wechatError(40002);
    const code = query.get('js_code');
    if (code === null || code === '') return wechatError(41008);
    const session = codes.get(code);
    if (session === undefined) return wechatError(40029);
    codes.delete(code);
    // A successful answer has no errcode at all, as WeChat sends it (not the doc's errcode 0).
    return session.unionid === undefined
      ? { session_key: session.sessionKey, openid: session.openid }
      : { session_key: session.sessionKey, openid: session.openid, unionid: session.unionid };
  }

  async function stableToken(req: IncomingMessage): Promise<WechatAnswer> {
    if (req.method !== 'POST') return wechatError(43002);
    const body = await readJsonBody(req);
    if (body === undefined) return wechatError(47001);
    if (body['grant_type'] !== 'client_credential') return wechatError(40002);
    const appError = checkApp(body['appid'], body['secret']);
    if (appError !== undefined) return appError;
    if (current === undefined || current.expiresAt <= now() || body['force_refresh'] === true) {
      current = { token: `fake_${randomBytes(24).toString('base64url')}`, expiresAt: now() + ttlSeconds * 1000 };
    }
    return { access_token: current.token, expires_in: Math.floor((current.expiresAt - now()) / 1000) };
  }

  async function getUserPhoneNumber(req: IncomingMessage, query: URLSearchParams): Promise<WechatAnswer> {
    if (req.method !== 'POST') return wechatError(43002);
    const token = query.get('access_token');
    if (token === null || token === '') return wechatError(41001);
    if (current === undefined || !timingSafeEqualStr(token, current.token)) return wechatError(40001);
    if (current.expiresAt <= now()) return wechatError(42001);
    const body = await readJsonBody(req);
    if (body === undefined) return wechatError(47001);
    const code = body['code'];
    const phone = typeof code === 'string' ? phoneCodes.get(code) : undefined;
    if (typeof code !== 'string' || phone === undefined) return wechatError(40029);
    phoneCodes.delete(code);
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: phone.phoneNumber,
        purePhoneNumber: phone.purePhoneNumber,
        countryCode: phone.countryCode,
        watermark: { timestamp: Math.floor(now() / 1000), appid: options.appId },
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/cgi-bin/stable_token') tokenFetches += 1;

    let answer: WechatAnswer;
    let contentType = 'application/json; encoding=utf-8';
    const failureIndex = failures.findIndex((f) => f.path === undefined || f.path === url.pathname);
    const [failure] = failureIndex === -1 ? [] : failures.splice(failureIndex, 1);
    if (failure !== undefined) {
      answer = failure.answer;
    } else if (url.pathname === '/sns/jscode2session') {
      answer = jscode2session(req, url.searchParams);
      // WeChat labels some JSON answers text/plain (panva/oauth4webapi#155,
      // node-webot/wechat-api#204); doing it here keeps clients honest.
      contentType = 'text/plain';
    } else if (url.pathname === '/cgi-bin/stable_token') {
      answer = await stableToken(req);
    } else if (url.pathname === '/wxa/business/getuserphonenumber') {
      answer = await getUserPhoneNumber(req, url.searchParams);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(wechatError(40066, 'invalid url')));
      return;
    }
    res.writeHead(200, { 'content-type': contentType });
    res.end(JSON.stringify(answer));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
    addCode: (code, session) => {
      codes.set(code, session);
    },
    addPhoneCode: (code, phone) => {
      phoneCodes.set(code, phone);
    },
    get tokenFetches() {
      return tokenFetches;
    },
    setFailNext: (errcode, failOptions = {}) => {
      failures.push({ answer: wechatError(errcode, failOptions.errmsg), path: failOptions.path });
    },
    revokeTokens: () => {
      current = undefined;
    },
  };
}
