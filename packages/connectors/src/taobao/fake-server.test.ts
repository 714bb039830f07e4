import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTopServer, toTopJson, type FakeTopServer } from './fake-server.js';
import { parseJsonKeepingBigInts } from './json.js';
import { formatTopTime, signTopRequest } from './sign.js';

const SECRET = 'helloworld';
const servers: FakeTopServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(): Promise<FakeTopServer> {
  const server = await startFakeTopServer({ appKey: '12345678', appSecret: SECRET, sessionKey: 'sess' });
  servers.push(server);
  return server;
}

function signed(params: Record<string, string>): Record<string, string> {
  const all = { app_key: '12345678', timestamp: formatTopTime(new Date()), format: 'json', v: '2.0', sign_method: 'md5', ...params };
  return { ...all, sign: signTopRequest(all, SECRET, 'md5') };
}

async function post(server: FakeTopServer, params: Record<string, string>): Promise<string> {
  const response = await fetch(server.apiBase, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    body: new URLSearchParams(params).toString(),
  });
  return response.text();
}

describe('fake TOP router', () => {
  it('answers a bad sign exactly as TOP does', async () => {
    const server = await fake();
    const params = signed({ method: 'taobao.tmc.messages.consume', quantity: '10' });
    const body = parseJsonKeepingBigInts(await post(server, { ...params, sign: params['sign']!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }));
    expect(body).toMatchObject({ error_response: { code: 25, msg: 'Invalid signature' } });
  });

  it('accepts a GET with the parameters in the query string', async () => {
    const server = await fake();
    const query = new URLSearchParams(signed({ method: 'taobao.tmc.messages.consume', quantity: '10' })).toString();
    const body = parseJsonKeepingBigInts(await (await fetch(`${server.apiBase}?${query}`)).text());
    expect(body).toMatchObject({ tmc_messages_consume_response: {} });
  });

  it('refuses a session API without a session, and an unknown method', async () => {
    const server = await fake();
    expect(parseJsonKeepingBigInts(await post(server, signed({ method: 'taobao.user.seller.get', fields: 'nick' })))).toMatchObject({
      error_response: { code: 26 },
    });
    expect(parseJsonKeepingBigInts(await post(server, signed({ method: 'taobao.no.such.api' })))).toMatchObject({
      error_response: { code: 22 },
    });
  });

  it('refuses an increment window longer than a day', async () => {
    const server = await fake();
    const body = parseJsonKeepingBigInts(
      await post(
        server,
        signed({ method: 'taobao.trades.sold.increment.get', session: 'sess', fields: 'tid', start_modified: '2024-03-01 00:00:00', end_modified: '2024-03-02 00:00:01' }),
      ),
    );
    expect(body).toMatchObject({ error_response: { code: 41 } });
  });

  it('writes ids as bare JSON numbers, as TOP does, inside content strings too', async () => {
    const server = await fake();
    server.publish('taobao_trade_TradeCreate', { tid: '3702118873904567891', payment: '1.00' });
    const text = await post(server, signed({ method: 'taobao.tmc.messages.consume', quantity: '10' }));
    expect(text).toMatch(/"id":1172200053212681005,/);
    expect(text).toContain('\\"tid\\":3702118873904567891');
    expect(toTopJson({ tid: '12', tid_str: '12', sku_id: '34' })).toBe('{"tid":12,"tid_str":"12","sku_id":"34"}');
  });
});
