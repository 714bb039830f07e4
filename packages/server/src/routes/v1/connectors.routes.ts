import { createMiniprogramClient, decryptOpenData, parseMiniprogramConfig, type MiniprogramConfig } from '@datong/connectors';
import { DatongError, normalizePhone } from '@datong/core';
import { Connector, ConnectorCreateBody, ConnectorDetail, IdParam, Problem, Type } from '@datong/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CommerceConnectors } from '../../connectors/commerce.js';
import { parseSettings } from '../../connectors/settings.js';
import type { Queryable } from '../../db/client.js';
import { signCustomerToken } from '../../http/auth.js';
import { isoReq } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import { ensureChannelTagRules } from '../../usecases/channel-tags.js';
import { commerceStatus } from '../../usecases/commerce-status.js';
import type { ServerDeps } from '../../usecases/context.js';
import { lookupIdentifier, rootOf } from '../../usecases/customers.js';
import { ingestAndProcess } from '../../usecases/ingest.js';
import { recomputeRule } from '../../usecases/recompute.js';
import { createSource } from './admin.routes.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

export const PLATFORMS = ['wechat_miniprogram'] as const;

interface ConnectorRow {
  tenant_id: string;
  id: string;
  platform: string;
  name: string;
  config_enc: string;
  source_id: string;
  enabled: boolean;
  created_at: Date;
  mapping: Record<string, string>;
}

/** Secrets never leave the server: they are shown as set or not. */
function maskConfig(platform: string, config: Record<string, unknown>, commerce: CommerceConnectors): Record<string, unknown> {
  const secretKeys = platform === 'wechat_miniprogram' ? ['appSecret'] : commerce.registry.secretKeys(platform);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = secretKeys.includes(k) ? (v ? '********' : null) : v;
  return out;
}

export function connectorsRoutes(app: FastifyInstance, deps: ServerDeps, commerce: CommerceConnectors = new CommerceConnectors(deps)): void {
  const { db, keyring } = deps;

  const decode = (row: ConnectorRow): Record<string, unknown> => JSON.parse(keyring.decrypt(row.config_enc)) as Record<string, unknown>;
  const out = (row: ConnectorRow) => ({
    id: row.id,
    platform: row.platform,
    name: row.name,
    config: maskConfig(row.platform, decode(row), commerce),
    sourceId: row.source_id,
    enabled: row.enabled,
    createdAt: isoReq(row.created_at),
    mapping: row.mapping,
  });
  const get = async (q: Queryable, tenantId: string | null, id: string): Promise<ConnectorRow> => {
    const r = await q.query<ConnectorRow>(
      tenantId === null ? 'SELECT * FROM connectors WHERE id = $1' : 'SELECT * FROM connectors WHERE id = $1 AND tenant_id = $2',
      tenantId === null ? [id] : [id, tenantId],
    );
    const row = r.rows[0];
    if (!row) throw new DatongError('CONNECTOR_NOT_FOUND', `No connector ${id}`);
    return row;
  };
  const miniprogram = async (tenantId: string | null, id: string): Promise<{ row: ConnectorRow; config: MiniprogramConfig }> => {
    const row = await get(db, tenantId, id);
    if (row.platform !== 'wechat_miniprogram' || !row.enabled) throw new DatongError('CONNECTOR_NOT_FOUND', `No enabled mini-program connector ${id}`);
    return { row, config: parseMiniprogramConfig(decode(row)) };
  };

  app.post(
    '/v1/connectors',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage', idempotent: true },
      schema: {
        tags: ['connectors'],
        summary: 'Add a connector',
        description:
          'wechat_miniprogram: config {appId, appSecret, apiBase?}. E-commerce platforms (youzan, taobao, doudian, meituan): config as the ' +
          "platform's schema says, plus optional `settings` (see PUT /v1/connectors/{id}/settings); each gets its own source (type = platform). " +
          'Credentials are stored encrypted and never returned.',
        security: [{ apiKey: [] }],
        body: ConnectorCreateBody,
        response: { 201: Connector, ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as { platform: string; name?: string; config: Record<string, unknown>; settings?: unknown };
      const commerceDef = commerce.registry.get(body.platform);
      if (!(PLATFORMS as readonly string[]).includes(body.platform) && !commerceDef) {
        throw new DatongError('CONNECTOR_PLATFORM_UNKNOWN', `Supported platforms: ${[...PLATFORMS, ...commerce.registry.platforms()].join(', ')}`);
      }
      // E-commerce platforms validate their own config (every problem at once, secrets never echoed).
      const config = commerceDef ? commerceDef.parseConfig(body.config) : { ...parseMiniprogramConfig(body.config) };
      const settings = commerceDef ? parseSettings(body.settings, { allowPrivateNetwork: deps.config.webhooks.allowPrivateNetwork }) : {};
      const now = deps.clock();
      const id = newId('con', now.getTime());
      const name = body.name ?? (commerceDef ? `${body.platform} ${id.slice(-6)}` : `WeChat mini-program ${(config as { appId: string }).appId}`);
      let channelRules: string[] = [];
      await db.tx(async (q) => {
        // Each e-commerce connector feeds its own source, whose type (the platform) is its events' channel.
        const source = await createSource(q, deps, tenantId, name, commerceDef ? body.platform : 'miniprogram', now);
        await q.query(
          `INSERT INTO connectors (tenant_id, id, platform, name, config_enc, source_id, created_at, updated_at, settings) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
          [tenantId, id, body.platform, name, keyring.encrypt(JSON.stringify(config)), source.id, now.toISOString(), JSON.stringify(settings)],
        );
        if (commerceDef) {
          await q.query(`INSERT INTO connector_state (tenant_id, connector_id, channel, channel_since, updated_at) VALUES ($1, $2, 'push', $3, $3)`, [tenantId, id, now.toISOString()]);
          // Channel-source tags (first touch, repurchase ≥ 3), once per tenant and platform.
          channelRules = await ensureChannelTagRules(q, tenantId, body.platform, now);
        }
      });
      // Rules new to a tenant that already had this platform's events (its tags were deleted): evaluated now.
      if (channelRules.length > 0) {
        const earlier = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sources WHERE tenant_id = $1 AND type = $2', [tenantId, body.platform]);
        if ((earlier.rows[0]?.n ?? 0) > 1) for (const ruleId of channelRules) await recomputeRule(deps, tenantId, ruleId);
      }
      return reply.code(201).send(out(await get(db, tenantId, id)));
    },
  );
  app.get(
    '/v1/connectors',
    { config: { auth: 'apiKey:admin', permission: 'connectors.manage' }, schema: { tags: ['connectors'], summary: 'Connectors', security: [{ apiKey: [] }], response: { 200: Type.Object({ data: Type.Array(Connector) }), ...errors } } },
    async (req) => {
      const r = await db.query<ConnectorRow>('SELECT * FROM connectors WHERE tenant_id = $1 ORDER BY created_at, id', [req.auth?.tenantId ?? '']);
      return { data: r.rows.map(out) };
    },
  );
  app.get(
    '/v1/connectors/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: 'One connector',
        description: 'E-commerce connectors add `commerce`: the webhook URL to paste into the platform, the channel (push or polling fallback) and health.',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: ConnectorDetail, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const row = await get(db, tenantId, (req.params as { id: string }).id);
      const c = commerce.registry.has(row.platform) ? await commerce.load(db, tenantId, row.id) : null;
      return c ? { ...out(row), commerce: await commerceStatus(db, commerce, c) } : out(row);
    },
  );
  app.delete(
    '/v1/connectors/:id',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: { tags: ['connectors'], summary: 'Disable a connector (its data stays)', security: [{ apiKey: [] }], params: IdParam, response: { 204: Type.Null(), ...errors } },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const row = await get(db, tenantId, (req.params as { id: string }).id);
      await db.query('UPDATE connectors SET enabled = false, updated_at = now() WHERE tenant_id = $1 AND id = $2', [tenantId, row.id]);
      commerce.invalidate(row.id);
      return reply.code(204).send();
    },
  );
  app.post(
    '/v1/connectors/:id/test',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: 'Check credentials and reachability',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: Type.Object({ ok: Type.Boolean(), code: Type.Union([Type.String(), Type.Null()]), message: Type.String() }), ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const connectorId = (req.params as { id: string }).id;
      const c = await commerce.load(db, tenantId, connectorId);
      if (c) {
        // The connector's own check, in words a merchant understands (Accept-Language: en or zh-CN, the default).
        const check = await commerce.client(c).client.testConnection();
        const lang = /^en\b/i.test(req.headers['accept-language'] ?? '') ? 'en' : 'zh-CN';
        return { ok: check.ok, code: check.ok ? null : (check.code ?? 'PLATFORM_ERROR'), message: check.message[lang] };
      }
      const { config } = await miniprogram(tenantId, connectorId);
      try {
        await createMiniprogramClient(config).testConnection();
        return { ok: true, code: null, message: `WeChat accepted the AppID and AppSecret of ${config.appId}` };
      } catch (e) {
        if (e instanceof DatongError) return { ok: false, code: e.code, message: e.detail ?? e.title };
        throw e;
      }
    },
  );

  // The mini-program's own calls. Login is public (the mini-program holds no API key); the
  // rest carry the customer token that login returns.
  const customerOf = (req: FastifyRequest, connectorId: string) => {
    const a = req.auth;
    if (!a?.customerId || a.connectorId !== connectorId) throw new DatongError('AUTH_CUSTOMER_TOKEN_INVALID', 'The token belongs to another connector');
    return a;
  };
  const tokenFor = (tenantId: string, customerId: string, connectorId: string, openid: string) =>
    signCustomerToken(keyring, {
      t: tenantId,
      c: customerId,
      k: connectorId,
      o: openid,
      exp: Math.floor(deps.clock().getTime() / 1000) + deps.config.security.customerTokenTtlSeconds,
    });
  const openidOf = (appId: string, openid: string) => ({ type: 'wechat_openid' as const, collection: appId, value: openid });
  const messageIdFor = (kind: string) => `${kind}-${newId('wx')}`;

  app.post(
    '/v1/miniprogram/:id/login',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['miniprogram'],
        summary: 'Log in with wx.login() code: links openid and unionid, answers a customer token',
        params: IdParam,
        body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: Type.Object({ token: Type.String(), customerId: Type.String(), expiresIn: Type.Integer() }), ...errors, 502: Problem },
      },
    },
    async (req) => {
      const connectorId = (req.params as { id: string }).id;
      const { row, config } = await miniprogram(null, connectorId);
      const session = await createMiniprogramClient(config).code2Session((req.body as { code: string }).code);
      const externalIds = [{ id: session.openid, type: 'wechat_openid', collection: config.appId, encoding: 'none' }];
      if (session.unionid) externalIds.push({ id: session.unionid, type: 'wechat_unionid', collection: 'users', encoding: 'none' });
      await ingestAndProcess(deps, row.tenant_id, row.source_id, [
        {
          type: 'track',
          event: 'Signed In',
          messageId: messageIdFor('wx-login'),
          properties: { method: 'wechat_miniprogram', appId: config.appId },
          context: { externalIds },
          timestamp: deps.clock().toISOString(),
        },
      ]);
      const customerId = await lookupIdentifier(db, keyring, row.tenant_id, openidOf(config.appId, session.openid));
      if (!customerId) throw new DatongError('INTERNAL', 'login did not resolve a customer');
      await db.query(
        `INSERT INTO wechat_sessions (tenant_id, connector_id, openid, customer_id, session_key_enc, updated_at) VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (tenant_id, connector_id, openid) DO UPDATE SET customer_id = EXCLUDED.customer_id, session_key_enc = EXCLUDED.session_key_enc, updated_at = now()`,
        [row.tenant_id, row.id, session.openid, customerId, keyring.encrypt(session.sessionKey)],
      );
      return { token: tokenFor(row.tenant_id, customerId, row.id, session.openid), customerId, expiresIn: deps.config.security.customerTokenTtlSeconds };
    },
  );

  const linkPhoneAndProfile = async (
    row: ConnectorRow,
    config: MiniprogramConfig,
    openid: string,
    data: { phone?: string | undefined; unionid?: string | undefined; traits?: Record<string, unknown> },
  ): Promise<string> => {
    const externalIds: Record<string, string>[] = [{ id: openid, type: 'wechat_openid', collection: config.appId, encoding: 'none' }];
    if (data.unionid) externalIds.push({ id: data.unionid, type: 'wechat_unionid', collection: 'users', encoding: 'none' });
    await ingestAndProcess(deps, row.tenant_id, row.source_id, [
      {
        type: 'identify',
        messageId: messageIdFor('wx-profile'),
        traits: { ...(data.traits ?? {}), ...(data.phone ? { phone: data.phone } : {}) },
        context: { externalIds },
        timestamp: deps.clock().toISOString(),
      },
    ]);
    const id = await lookupIdentifier(db, keyring, row.tenant_id, openidOf(config.appId, openid));
    if (!id) throw new DatongError('INTERNAL', 'decrypted data did not resolve a customer');
    return id;
  };

  app.post(
    '/v1/miniprogram/:id/decrypt',
    {
      config: { auth: 'customerToken' },
      schema: {
        tags: ['miniprogram'],
        summary: 'Decrypt wx open data (user info or phone) with the session key; links the phone and unionid it holds',
        description: 'AES-128-CBC with the session key, PKCS#7; refused when watermark.appid is not the connector appId.',
        security: [{ customerToken: [] }],
        params: IdParam,
        body: Type.Object({ encryptedData: Type.String({ minLength: 1, maxLength: 65536 }), iv: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Type.Object({ customerId: Type.String(), data: Type.Record(Type.String(), Type.Unknown()) }), ...errors, 409: Problem },
      },
    },
    async (req) => {
      const connectorId = (req.params as { id: string }).id;
      const auth = customerOf(req, connectorId);
      const { row, config } = await miniprogram(auth.tenantId, connectorId);
      const s = await db.query<{ session_key_enc: string }>('SELECT session_key_enc FROM wechat_sessions WHERE tenant_id = $1 AND connector_id = $2 AND openid = $3', [
        auth.tenantId,
        connectorId,
        auth.platformUserId ?? '',
      ]);
      const enc = s.rows[0]?.session_key_enc;
      if (!enc || !auth.platformUserId) throw new DatongError('WECHAT_SESSION_MISSING');
      const body = req.body as { encryptedData: string; iv: string };
      const data = decryptOpenData(keyring.decrypt(enc), body.encryptedData, body.iv, config.appId);
      const phoneRaw =
        typeof data['phoneNumber'] === 'string'
          ? typeof data['countryCode'] === 'string' && typeof data['purePhoneNumber'] === 'string'
            ? `+${data['countryCode']}${data['purePhoneNumber']}`
            : data['phoneNumber']
          : undefined;
      const phone = phoneRaw ? (normalizePhone(phoneRaw) ?? phoneRaw) : undefined;
      const unionid = typeof data['unionId'] === 'string' ? data['unionId'] : undefined;
      const traits: Record<string, unknown> = {};
      if (typeof data['nickName'] === 'string') traits['name'] = data['nickName'];
      if (typeof data['avatarUrl'] === 'string') traits['avatar'] = data['avatarUrl'];
      for (const k of ['gender', 'city', 'province', 'country', 'language'] as const) if (data[k] !== undefined && data[k] !== '') traits[k] = data[k];
      const customerId = await linkPhoneAndProfile(row, config, auth.platformUserId, { phone, unionid, traits });
      const { watermark: _w, ...shown } = data;
      return { customerId, data: shown };
    },
  );

  app.post(
    '/v1/miniprogram/:id/phone',
    {
      config: { auth: 'customerToken' },
      schema: {
        tags: ['miniprogram'],
        summary: 'Link the phone number from a getPhoneNumber code (getuserphonenumber)',
        security: [{ customerToken: [] }],
        params: IdParam,
        body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 256 }) }),
        response: { 200: Type.Object({ customerId: Type.String(), phoneNumber: Type.String() }), ...errors, 502: Problem },
      },
    },
    async (req) => {
      const connectorId = (req.params as { id: string }).id;
      const auth = customerOf(req, connectorId);
      if (!auth.platformUserId) throw new DatongError('WECHAT_SESSION_MISSING');
      const { row, config } = await miniprogram(auth.tenantId, connectorId);
      const p = await createMiniprogramClient(config).getPhoneNumber((req.body as { code: string }).code);
      const phone = normalizePhone(`+${p.countryCode}${p.purePhoneNumber}`) ?? p.phoneNumber;
      const customerId = await linkPhoneAndProfile(row, config, auth.platformUserId, { phone });
      return { customerId, phoneNumber: p.phoneNumber };
    },
  );

  app.get(
    '/v1/miniprogram/:id/me',
    {
      config: { auth: 'customerToken' },
      schema: {
        tags: ['miniprogram'],
        summary: "What the mall may show this customer: visible tags, tier and the benefits their tags match",
        security: [{ customerToken: [] }],
        params: IdParam,
        response: {
          200: Type.Object({
            customerId: Type.String(),
            tags: Type.Array(Type.String()),
            tier: Type.Union([Type.String(), Type.Null()]),
            benefits: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), description: Type.Union([Type.String(), Type.Null()]) })),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const connectorId = (req.params as { id: string }).id;
      const auth = customerOf(req, connectorId);
      await miniprogram(auth.tenantId, connectorId);
      const rootId = await rootOf(db, auth.tenantId, auth.customerId ?? '');
      // One instant, on the server clock, for tag expiry and benefit windows alike.
      const now = deps.clock().toISOString();
      const tags = await db.query<{ tag: string; visible: boolean }>(
        `SELECT DISTINCT t.tag, coalesce(d.visible, false) AS visible FROM customer_tags t
         JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id
         LEFT JOIN tags d ON d.tenant_id = t.tenant_id AND d.name = t.tag
         WHERE t.tenant_id = $1 AND c.root_id = $2 AND (t.expires_at IS NULL OR t.expires_at > $3)`,
        [auth.tenantId, rootId, now],
      );
      const all = tags.rows.map((t) => t.tag);
      const profile = await db.query<{ traits: Record<string, unknown> }>('SELECT traits FROM customers WHERE tenant_id = $1 AND id = $2', [auth.tenantId, rootId]);
      const tier = profile.rows[0]?.traits['tier'];
      const benefits = await db.query<{ id: string; name: string; description: string | null }>(
        `SELECT id, name, description FROM benefits
         WHERE tenant_id = $1 AND active AND (starts_at IS NULL OR starts_at <= $3) AND (ends_at IS NULL OR ends_at > $3)
           AND ((match = 'any' AND tags && $2::text[]) OR (match = 'all' AND tags <@ $2::text[]))
         ORDER BY created_at, id`,
        [auth.tenantId, all, now],
      );
      return {
        customerId: rootId,
        tags: tags.rows.filter((t) => t.visible).map((t) => t.tag).sort(),
        tier: typeof tier === 'string' ? tier : null,
        benefits: benefits.rows,
      };
    },
  );
}
