import { DatongError } from '@datong/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../db/client.js';
import { sha256Hex, type Keyring } from '../security/keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
}

const MAX_KEY_LENGTH = 255;

/**
 * `Idempotency-Key` on POSTs that create (draft-ietf-httpapi-idempotency-key-header): the first
 * request's response is stored (encrypted: it may hold a secret shown once) and replayed for
 * the same key and body; the same key with another body is refused.
 */
export function registerIdempotency(app: FastifyInstance, db: Db, keyring: Keyring): void {
  app.decorateRequest('idempotencyKey', null);
  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method !== 'POST' || !req.routeOptions.config.idempotent || !req.auth) return;
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || key.length > MAX_KEY_LENGTH) throw new DatongError('VALIDATION_FAILED', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
    const path = req.url.split('?')[0] ?? req.url;
    const bodyHash = sha256Hex(JSON.stringify(req.body ?? null));
    const ins = await db.query(
      `INSERT INTO idempotency_keys (tenant_id, key, method, path, body_hash, created_at) VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (tenant_id, key) DO NOTHING`,
      [req.auth.tenantId, key, req.method, path, bodyHash],
    );
    if (ins.affectedRows === 1) {
      req.idempotencyKey = key;
      return;
    }
    const r = await db.query<{ method: string; path: string; body_hash: string; status_code: number | null; response_enc: string | null }>(
      'SELECT method, path, body_hash, status_code, response_enc FROM idempotency_keys WHERE tenant_id = $1 AND key = $2',
      [req.auth.tenantId, key],
    );
    const prev = r.rows[0];
    if (!prev) throw new DatongError('IDEMPOTENCY_KEY_IN_PROGRESS');
    if (prev.method !== req.method || prev.path !== path || prev.body_hash !== bodyHash) {
      throw new DatongError('IDEMPOTENCY_KEY_CONFLICT', 'This Idempotency-Key was used for a different request');
    }
    if (prev.status_code === null || prev.response_enc === null) throw new DatongError('IDEMPOTENCY_KEY_IN_PROGRESS');
    const body = keyring.decrypt(prev.response_enc);
    await reply.code(prev.status_code).header('idempotent-replayed', 'true').type('application/json; charset=utf-8').send(body);
    return reply;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.idempotencyKey || !req.auth) return payload;
    if (reply.statusCode >= 500) {
      await db.query('DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2', [req.auth.tenantId, req.idempotencyKey]);
    } else {
      const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : JSON.stringify(payload ?? null);
      await db.query('UPDATE idempotency_keys SET status_code = $3, response_enc = $4 WHERE tenant_id = $1 AND key = $2', [
        req.auth.tenantId,
        req.idempotencyKey,
        reply.statusCode,
        keyring.encrypt(text),
      ]);
    }
    return payload;
  });
}
