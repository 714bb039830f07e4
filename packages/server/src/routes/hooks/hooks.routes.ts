import { fullBucket, takeToken, type BucketState, type InboundRequest, type InboundResult, type PlatformReply } from '@datong/connectors';
import { DatongError, isDatongError } from '@datong/core';
import { Type } from '@datong/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CommerceConnectors, LoadedConnector } from '../../connectors/commerce.js';
import { fromPlatformMessage, PushLog, storeConnectorMessages } from '../../usecases/connector-messages.js';
import { noteRejectedPush } from '../../usecases/connector-state.js';
import type { ServerDeps } from '../../usecases/context.js';

/**
 * Platform webhooks: `/v1/hooks/{platform}/{connectorId}`. Public (the platform signs the
 * request); the body is kept as raw bytes, whatever its content type, because signatures are
 * computed over exactly those bytes (STYLE.md §C.1). A verified request's messages are stored
 * (encrypted) in the connector's message log in one transaction before the platform gets
 * exactly the reply it expects; a rejected request gets the platform's failure reply and is
 * logged as `invalid` so the merchant can see it.
 */

/** Rejected requests logged per connector: a burst of 20, then one every 2 s (a flood of junk is counted, not stored). */
const REJECT_LOG_BUCKET = { capacity: 20, refillPerSecond: 0.5 };
/** Headers never kept with a rejected request, even encrypted. */
const DROPPED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

function headerMap(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** Exactly the platform's reply: sent as bytes, so Fastify adds no charset to the content type. */
function send(reply: FastifyReply, r: PlatformReply): FastifyReply {
  return reply.code(r.status).header('content-type', r.contentType).send(Buffer.from(r.body, 'utf8'));
}

export async function hooksRoutes(app: FastifyInstance, deps: ServerDeps, commerce: CommerceConnectors): Promise<void> {
  // On PostgreSQL a second transaction stores its pushes while the first commits.
  const pushes = new PushLog(deps.db, deps.keyring, { concurrency: deps.db.kind === 'postgres' ? 2 : 1, maxMessages: 500 });
  const { db, keyring } = deps;
  const rejectBuckets = new Map<string, BucketState>();
  const mayLogRejection = (connectorId: string): boolean => {
    const now = Date.now();
    const r = takeToken(rejectBuckets.get(connectorId) ?? fullBucket(REJECT_LOG_BUCKET, now), REJECT_LOG_BUCKET, now);
    rejectBuckets.set(connectorId, r.state);
    return r.ok;
  };

  const reject = async (req: FastifyRequest, reply: FastifyReply, c: LoadedConnector, inbound: InboundRequest, err: unknown): Promise<FastifyReply> => {
    const code = isDatongError(err) ? err.code : 'INTERNAL';
    const detail = isDatongError(err) ? (err.detail ?? err.title) : 'the connector failed to verify the request';
    if (!isDatongError(err)) req.log.error({ err, event: 'hook.verify_crashed', connectorId: c.id, platform: c.platform }, 'connector verify threw a non-Datong error');
    else req.log.warn({ event: 'hook.rejected', connectorId: c.id, platform: c.platform, code }, 'platform push rejected');
    const now = deps.clock();
    const log = mayLogRejection(c.id);
    await db.tx(async (q) => {
      await noteRejectedPush(q, c.tenantId, c.id, now, `${code}: ${detail}`);
      if (!log) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(inbound.headers)) if (v !== undefined && !DROPPED_HEADERS.has(k)) headers[k] = v;
      await storeConnectorMessages(
        q,
        keyring,
        c.tenantId,
        c.id,
        [
          {
            // Nothing in an unverified request can be trusted, its message id included.
            messageId: `rejected:${req.id}:${now.getTime()}`,
            type: 'rejected',
            channel: 'push',
            verification: 'invalid',
            payload: { rejected: { method: inbound.method, url: inbound.url, headers, body: inbound.rawBody.toString('utf8') } },
            error: { code, detail: detail.slice(0, 500) },
          },
        ],
        now,
      );
    });
    return send(reply, c.def.failureReply(code));
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { platform, connectorId } = req.params as { platform: string; connectorId: string };
    let c: LoadedConnector | null;
    try {
      c = await commerce.load(db, null, connectorId);
    } catch (e) {
      // The stored config no longer parses: nothing can be verified (fail closed).
      req.log.error({ err: e, event: 'hook.connector_config_invalid', connectorId }, 'connector config does not parse');
      throw new DatongError('CONNECTOR_NOT_FOUND', `No usable ${platform} connector ${connectorId}`, { cause: e });
    }
    // One answer for unknown, disabled and mismatched: the URL reveals nothing about other connectors.
    if (!c || !c.enabled || c.platform !== platform) throw new DatongError('CONNECTOR_NOT_FOUND', `No ${platform} connector ${connectorId}`);
    const inbound: InboundRequest = {
      method: req.method,
      url: req.url,
      headers: headerMap(req),
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    };
    const now = deps.clock();
    let result: InboundResult;
    try {
      result = c.def.verify(inbound, c.config, { now, publicUrl: commerce.webhookUrl(c.platform, c.id) });
    } catch (e) {
      return reject(req, reply, c, inbound, e);
    }
    if (result.kind === 'handshake') return send(reply, result.reply);
    const loaded = c;
    try {
      // Stored and committed before the answer; concurrent pushes share a transaction.
      await pushes.store(loaded.tenantId, loaded.id, result.messages.map((m) => fromPlatformMessage(m, 'push')), now);
    } catch (e) {
      // Not stored, so not acknowledged: the platform's failure reply makes it push again.
      req.log.error({ err: e, event: 'hook.store_failed', connectorId: c.id }, 'platform messages could not be stored');
      return send(reply, c.def.failureReply('DB_UNAVAILABLE'));
    }
    deps.kick();
    return send(reply, c.def.successReply);
  };

  // An encapsulated context: its content-type parser (raw bytes, any type) applies to this route only.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.config.connectors.hookBodyLimitBytes }, (_req, body, done) => done(null, body));
    const schema = {
      tags: ['hooks'],
      summary: 'Platform webhook (Youzan, Taobao, Douyin shop, Meituan): verified over the raw body, answered exactly as the platform expects',
      description:
        'Set this URL in the platform’s back office (GET /v1/connectors/{id} shows it as commerce.webhookUrl). Any content type; ' +
        'a verified request is stored before it is answered. Unknown connector or platform mismatch: 404 problem+json.',
      params: Type.Object({ platform: Type.String({ minLength: 1, maxLength: 40 }), connectorId: Type.String({ minLength: 1, maxLength: 64 }) }),
    };
    scope.get('/v1/hooks/:platform/:connectorId', { config: { auth: 'public' }, bodyLimit: deps.config.connectors.hookBodyLimitBytes, schema }, handler);
    scope.post('/v1/hooks/:platform/:connectorId', { config: { auth: 'public' }, bodyLimit: deps.config.connectors.hookBodyLimitBytes, schema }, handler);
  });
}
