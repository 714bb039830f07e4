import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { DatongError } from '@datong/core';
import { Problem } from '@datong/contracts';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CommerceConnectors } from './connectors/commerce.js';
import { registerAuditLog } from './http/audit.js';
import { Authenticator, type AuthPolicy } from './http/auth.js';
import { registerConsole } from './http/console-static.js';
import { registerIdempotency } from './http/idempotency.js';
import { errorHandler, problemFor, sendProblem } from './http/problem.js';
import { newId } from './ids.js';
import type { Metrics } from './observability/metrics.js';
import { adminRoutes } from './routes/v1/admin.routes.js';
import { auditRoutes } from './routes/v1/audit.routes.js';
import { authRoutes } from './routes/v1/auth.routes.js';
import { usersRoutes } from './routes/v1/users.routes.js';
import { customersRoutes } from './routes/v1/customers.routes.js';
import { ingestRoutes } from './routes/v1/ingest.routes.js';
import { connectorsRoutes } from './routes/v1/connectors.routes.js';
import { connectorTemplatesRoutes } from './routes/v1/connector-templates.routes.js';
import { connectorMessagesRoutes } from './routes/v1/connector-messages.routes.js';
import { sourceMessagesRoutes } from './routes/v1/source-messages.routes.js';
import { commerceRoutes } from './routes/v1/commerce.routes.js';
import { hooksRoutes } from './routes/hooks/hooks.routes.js';
import { mappingsRoutes } from './routes/v1/mappings.routes.js';
import { monitorRoutes } from './routes/v1/monitor.routes.js';
import { importsRoutes } from './routes/v1/imports.routes.js';
import { systemRoutes } from './routes/system.routes.js';
import { segmentsRoutes } from './routes/v1/segments.routes.js';
import { tagsRoutes } from './routes/v1/tags.routes.js';
import { webhooksRoutes } from './routes/v1/webhooks.routes.js';
import type { ServerDeps } from './usecases/context.js';
import type { InlineIngest } from './usecases/ingest.js';

export interface AppOptions extends ServerDeps {
  readonly metrics: Metrics;
  /** Readiness beyond the database (e.g. workers started). */
  readonly isReady?: () => boolean;
  /** Outbound HTTP for platform APIs (tests point connectors at local fakes through config instead). */
  readonly version?: string;
  /** E-commerce connectors (registry, connector cache, clients); shared with the workers. Default: the built-in platforms. */
  readonly commerce?: CommerceConnectors;
  /** Segment messages processed in the accepting request (DATONG_INGEST_INLINE); absent: stored for the inbox workers. */
  readonly inline?: InlineIngest;
}

export type App = FastifyInstance;

const POLICIES = new Set(['apiKey:read', 'apiKey:write', 'apiKey:admin', 'session', 'writeKey', 'customerToken', 'public']);

/** Builds the HTTP app without listening (tests use `inject`). */
export async function buildApp(opts: AppOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    genReqId: () => newId('req'),
    trustProxy: opts.config.http.trustProxy,
    bodyLimit: 1024 * 1024,
    // Requests are logged once, by the onResponse hook below, without URLs' query strings (they may hold a phone).
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true, allErrors: true } },
  });

  app.decorateRequest('auth', null);
  // Registered before the auth hook so that the session cookie is parsed when it runs.
  await app.register(cookie);
  const authenticator = new Authenticator(opts.db, opts.keyring, opts.clock, {
    idleMs: opts.config.security.sessionIdleMinutes * 60_000,
    maxMs: opts.config.security.sessionMaxHours * 3_600_000,
  });
  app.decorate('authenticator', authenticator);

  // Every route declares who may call it (STYLE.md §B); a route without a policy is a bug.
  app.addHook('onRoute', (route) => {
    const policy = (route.config as { auth?: string } | undefined)?.auth;
    if (route.url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), auth: 'public' };
      return;
    }
    if (!policy || !POLICIES.has(policy)) throw new Error(`route ${String(route.method)} ${route.url} declares no auth policy`);
    // A console session is accepted wherever an API key is (http/auth.ts); say so in the OpenAPI document.
    if (policy.startsWith('apiKey:') && route.schema) route.schema = { ...route.schema, security: [{ apiKey: [] }, { session: [] }] };
  });
  app.addHook('onRequest', async (req) => {
    const policy = req.routeOptions.config.auth as AuthPolicy | undefined;
    if (policy && policy !== 'writeKey') req.auth = await authenticator.authenticate(req, policy);
  });
  // Write keys may arrive in the body (Segment's HTTP API allows `writeKey` there), so check them after parsing.
  app.addHook('preValidation', async (req) => {
    if (req.routeOptions.config.auth !== 'writeKey') return;
    if (!req.headers.authorization) {
      const wk = (req.body as { writeKey?: unknown } | undefined)?.writeKey;
      if (typeof wk === 'string' && wk !== '') req.headers.authorization = `Basic ${Buffer.from(`${wk}:`).toString('base64')}`;
    }
    req.auth = await authenticator.authenticate(req, 'writeKey');
  });
  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 400) req.log.info({ event: 'http.rejected', status: reply.statusCode, route: req.routeOptions.url }, 'request rejected');
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problemFor('ROUTE_NOT_FOUND', req, `${req.method} ${req.url.split('?')[0]} is not a Datong route`)));
  app.addSchema(Problem);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Datong API',
        version: opts.version ?? '0.1.0',
        description:
          'Customer data hub and SCRM/CRM. Errors are RFC 9457 application/problem+json with a stable `code` (see /docs/errors). ' +
          'POSTs that create honour Idempotency-Key. Lists use cursor pagination.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'API key with read, write or admin scope' },
          writeKey: { type: 'http', scheme: 'basic', description: 'Source write key as the user name (Segment compatible)' },
          customerToken: { type: 'http', scheme: 'bearer', description: 'Customer token from the mini-program login' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'datong_session',
            description: 'Console session from POST /v1/auth/login; accepted wherever an API key is. Non-GET requests also send X-CSRF-Token.',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  registerIdempotency(app, opts.db, opts.keyring);
  registerAuditLog(app, opts.db, opts.clock);

  systemRoutes(app, opts);
  ingestRoutes(app, opts);
  customersRoutes(app, opts);
  tagsRoutes(app, opts);
  segmentsRoutes(app, opts);
  webhooksRoutes(app, opts);
  adminRoutes(app, opts, authenticator);
  sourceMessagesRoutes(app, opts);
  const commerce = opts.commerce ?? new CommerceConnectors(opts);
  connectorsRoutes(app, opts, commerce);
  connectorMessagesRoutes(app, opts, commerce);
  commerceRoutes(app, opts, commerce);
  await hooksRoutes(app, opts, commerce);
  connectorTemplatesRoutes(app, opts);
  mappingsRoutes(app, opts);
  monitorRoutes(app, opts);
  await importsRoutes(app, opts);
  authRoutes(app, opts);
  usersRoutes(app, opts);
  auditRoutes(app, opts);
  // The web console at / (after the API routes, which keep precedence over its fallback).
  await registerConsole(app);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticator: Authenticator;
  }
}

export { DatongError };
