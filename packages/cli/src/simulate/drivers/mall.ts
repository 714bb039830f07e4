import { randomBytes } from 'node:crypto';
import { startFakeWechatServer, type FakeWechatServer } from '@datong/connectors';
import { MALL_APP_ID, MEMBER_APP_ID, type Delivery } from '../model.js';
import { outcomeOf, type DeliveryOutcome, type DriverContext, type PlatformDriver, type StartResult } from './driver.js';

/**
 * The brand's WeChat mini-program mall: its Segment calls (POST /v1/batch with the mall
 * source's write key) and the mini-program's login and phone calls (Datong's /v1/miniprogram
 * endpoints, which call WeChat: here a fake WeChat API that knows each code the shopper's
 * phone "got" from wx.login and getPhoneNumber). Two mini-programs share the brand's open
 * platform account, so a shopper with a unionid is the same person in both.
 */

interface MiniApp {
  readonly appId: string;
  readonly appSecret: string;
  fake?: FakeWechatServer;
  connectorId?: string;
}

const TIMEOUT_MS = 30_000;

export function createMallDriver(): PlatformDriver {
  let ctx: DriverContext | undefined;
  let writeKey = '';
  const apps: Record<'mall' | 'member', MiniApp> = {
    mall: { appId: MALL_APP_ID, appSecret: randomBytes(16).toString('hex') },
    member: { appId: MEMBER_APP_ID, appSecret: randomBytes(16).toString('hex') },
  };

  const post = async (path: string, body: unknown, authorization?: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`${ctx?.api.url ?? ''}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { status: r.status, body: await r.text() };
  };

  return {
    platform: 'mall',
    async start(c): Promise<StartResult> {
      ctx = c;
      const source = await c.api.createSource(`模拟 商城小程序 ${c.runId}`, 'miniprogram');
      writeKey = source.writeKey;
      const created = [{ what: 'mall source (Segment /v1/batch)', id: source.id, details: [`write key ${source.writeKey}`] }];
      for (const [name, app] of Object.entries(apps)) {
        app.fake = await startFakeWechatServer({ appId: app.appId, appSecret: app.appSecret });
        const label = name === 'mall' ? '商城' : '会员中心';
        const r = await c.api.call('POST', '/v1/connectors', {
          platform: 'wechat_miniprogram',
          name: `模拟 ${label}小程序 ${c.runId}`,
          config: { appId: app.appId, appSecret: app.appSecret, apiBase: app.fake.url },
        });
        if (r.status !== 201) return { ok: false, reason: `creating the ${label} mini-program connector failed: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}` };
        app.connectorId = (r.body as { id: string }).id;
        created.push({ what: `${label} mini-program connector`, id: app.connectorId, details: [`AppID ${app.appId}, fake WeChat API at ${app.fake.url}`] });
      }
      return { ok: true, created };
    },
    async deliver(d: Delivery): Promise<DeliveryOutcome> {
      const e = d.event;
      const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
      if (e.kind === 'segment') {
        const r = await post('/v1/batch', { batch: [e.message], sentAt: new Date().toISOString() }, basic);
        return outcomeOf(r.status, r.body, () => true);
      }
      if (e.kind !== 'wechat_login') return { accepted: false, detail: 'not a mall event' };
      const shopper = ctx?.population[e.shopper];
      const app = apps[e.app];
      const openid = e.app === 'mall' ? shopper?.mall?.openid : shopper?.mall?.memberCentreOpenid;
      if (!shopper || !openid || !app.fake || !app.connectorId) return { accepted: false, detail: 'no such mini-program account' };
      // wx.login() on the phone gave this code; Datong exchanges it with WeChat (jscode2session).
      app.fake.addCode(e.code, { openid, sessionKey: randomBytes(16).toString('base64'), ...(shopper.unionid !== undefined ? { unionid: shopper.unionid } : {}) });
      const login = await post(`/v1/miniprogram/${encodeURIComponent(app.connectorId)}/login`, { code: e.code });
      if (login.status !== 200) return outcomeOf(login.status, login.body, () => false);
      if (e.phoneCode === undefined) return { accepted: true };
      // The shopper tapped "use my WeChat phone number" (getPhoneNumber).
      const national = shopper.phone.slice(3);
      app.fake.addPhoneCode(e.phoneCode, { phoneNumber: national, purePhoneNumber: national, countryCode: '86' });
      const token = (JSON.parse(login.body) as { token: string }).token;
      const phone = await post(`/v1/miniprogram/${encodeURIComponent(app.connectorId)}/phone`, { code: e.phoneCode }, `Bearer ${token}`);
      return outcomeOf(phone.status, phone.body, () => true);
    },
    backlog: () => 0,
    connectorIds: () => Object.values(apps).flatMap((a) => (a.connectorId !== undefined ? [a.connectorId] : [])),
    summary: () => [],
    async close() {
      await Promise.all(Object.values(apps).map((a) => a.fake?.close()));
    },
  };
}
