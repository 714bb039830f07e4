import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.js';
import { actorOf, recordAudit } from '../usecases/audit.js';

/**
 * Audit of changes: every successful non-GET request made with an API key or a console
 * session is recorded with its actor, the route as action (unless the route names one), the
 * resource from the route and the names (never the values) of the body's top-level fields.
 * Ingestion (write keys) and the mall (customer tokens) are not console activity and are not
 * recorded. Routes that audit themselves set `config.audit: false`.
 */
export function registerAuditLog(app: FastifyInstance, db: Queryable, clock: () => Date): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return payload;
    const { auth } = req;
    const policy = req.routeOptions.config.auth;
    const configured = req.routeOptions.config.audit;
    if (!auth || configured === false || reply.statusCode >= 300) return payload;
    if (!policy || !(policy.startsWith('apiKey:') || policy === 'session')) return payload;
    const route = req.routeOptions.url ?? '';
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    let resourceId = params['id'] ?? null;
    if (resourceId === null && reply.statusCode === 201 && typeof payload === 'string') resourceId = createdId(payload);
    const body = req.body;
    const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).sort() : [];
    await recordAudit(db, {
      tenantId: auth.tenantId,
      actor: actorOf(auth),
      action: configured ?? `${req.method} ${route}`,
      resourceType: resourceTypeOf(route),
      resourceId,
      details: { status: reply.statusCode, ...(fields.length > 0 ? { fields } : {}) },
      ip: req.ip,
      requestId: req.id,
      at: clock(),
    });
    return payload;
  });
}

/** `/v1/customers/:id/tags` → `customer`, `/v1/tag-rules/:id` → `tag_rule`, `/v1/quarantine/:id/fix` → `quarantine`. */
export function resourceTypeOf(route: string): string | null {
  const first = route.replace(/^\/v1\//, '').split('/')[0];
  if (!first) return null;
  const snake = first.replace(/-/g, '_');
  return snake.endsWith('s') ? snake.slice(0, -1) : snake;
}

function createdId(payload: string): string | null {
  try {
    const v = JSON.parse(payload) as unknown;
    if (v && typeof v === 'object' && 'id' in v && typeof (v as { id: unknown }).id === 'string') return (v as { id: string }).id;
  } catch {
    // Not JSON: nothing to name.
  }
  return null;
}

/** Records a read of personal data (or another named action) by the request's actor. */
export async function auditAction(
  db: Queryable,
  clock: () => Date,
  req: FastifyRequest,
  action: string,
  resourceType: string | null,
  resourceId: string | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  const { auth } = req;
  if (!auth) return;
  await recordAudit(db, { tenantId: auth.tenantId, actor: actorOf(auth), action, resourceType, resourceId, details, ip: req.ip, requestId: req.id, at: clock() });
}
