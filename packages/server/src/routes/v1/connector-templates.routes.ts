import { checkMapping, miniprogram, type MappingFieldError } from '@datong/connectors';
import { DatongError } from '@datong/core';
import { CONNECTOR_TEMPLATE_FORMAT, Connector, ConnectorImport, ConnectorTemplate, IdParam, Problem, type Static, type TSchema } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import { BUILTIN_COMMERCE_CONNECTORS } from '../../connectors/registry.js';
import type { Queryable } from '../../db/client.js';
import { isoReq } from '../../http/pagination.js';
import { newId } from '../../ids.js';
import type { Keyring } from '../../security/keys.js';
import type { ServerDeps } from '../../usecases/context.js';
import { createSource } from './admin.routes.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/**
 * What templates and mappings need to know of a platform: its config schema (secrets are the
 * properties marked `{ secret: true }`), its parser and the type of the source it feeds. Issue
 * 4's connectors add their definitions here.
 */
interface PlatformSpec {
  readonly configSchema: TSchema;
  parseConfig(raw: unknown): object;
  readonly sourceType: string;
}
const PLATFORM_SPECS: Readonly<Record<string, PlatformSpec>> = {
  wechat_miniprogram: { configSchema: miniprogram.configSchema, parseConfig: (raw) => miniprogram.parseConfig(raw), sourceType: 'miniprogram' },
  // E-commerce platforms: each feeds a source of its own platform type (connectors/registry.ts).
  ...Object.fromEntries(
    BUILTIN_COMMERCE_CONNECTORS.map((c) => [c.platform, { configSchema: c.configSchema, parseConfig: (raw: unknown) => c.parseConfig(raw) as object, sourceType: c.platform }]),
  ),
};

function platformSpec(platform: string): PlatformSpec {
  const spec = Object.prototype.hasOwnProperty.call(PLATFORM_SPECS, platform) ? PLATFORM_SPECS[platform] : undefined;
  if (!spec) throw new DatongError('CONNECTOR_PLATFORM_UNKNOWN', `Supported platforms: ${Object.keys(PLATFORM_SPECS).join(', ')}`);
  return spec;
}

/** The config keys of a platform that hold secrets, from its schema. */
export function secretKeys(platform: string): string[] {
  const props = (platformSpec(platform).configSchema as { properties?: Record<string, { secret?: unknown }> }).properties ?? {};
  return Object.entries(props)
    .filter(([, p]) => p.secret === true)
    .map(([k]) => k);
}

export interface ConnectorRow {
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

export async function loadConnector(q: Queryable, tenantId: string, id: string): Promise<ConnectorRow> {
  const r = await q.query<ConnectorRow>('SELECT * FROM connectors WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  const row = r.rows[0];
  if (!row) throw new DatongError('CONNECTOR_NOT_FOUND', `No connector ${id}`);
  return row;
}

function decodeConfig(keyring: Keyring, row: ConnectorRow): Record<string, unknown> {
  return JSON.parse(keyring.decrypt(row.config_enc)) as Record<string, unknown>;
}

/** The connector as GET /v1/connectors/{id} shows it: secrets shown as set or not. */
export function connectorOut(keyring: Keyring, row: ConnectorRow): Static<typeof Connector> {
  const secrets = new Set(secretKeys(row.platform));
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(decodeConfig(keyring, row))) config[k] = secrets.has(k) ? (v ? '********' : null) : v;
  return {
    id: row.id,
    platform: row.platform,
    name: row.name,
    config,
    sourceId: row.source_id,
    enabled: row.enabled,
    createdAt: isoReq(row.created_at),
    mapping: row.mapping,
  };
}

/** RFC 6901 escaping of one reference token. */
const pointerToken = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Compiles every expression of a mapping; MAPPING_INVALID (400) names the first bad field and JSONata's message. */
export function assertMappingCompiles(mapping: Record<string, string>, pointerPrefix: string): void {
  const { errors: problems } = checkMapping(mapping);
  const first: MappingFieldError | undefined = problems[0];
  if (!first) return;
  throw new DatongError('MAPPING_INVALID', `Field "${first.field}": ${first.message}${first.position !== undefined ? ` (at ${first.position})` : ''}`, {
    extensions: {
      errors: problems.map((p) => ({ pointer: `${pointerPrefix}/${pointerToken(p.field)}`, message: p.message })),
      fieldErrors: problems,
    },
  });
}

function attachmentName(row: ConnectorRow): string {
  // RFC 6266 §4.3: an ASCII fallback, and the connector's (often Chinese) name in filename*.
  const utf8 = encodeURIComponent(`${row.name}.datong-connector.json`).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${row.id}.datong-connector.json"; filename*=UTF-8''${utf8}`;
}

export function connectorTemplatesRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring } = deps;

  app.get(
    '/v1/connectors/:id/template',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: 'Export a connector as a template file (platform, name, config without secrets, mapping)',
        description: 'Secrets (e.g. the mini-program appSecret) are left out and listed by name in `secrets`; supply them on import.',
        security: [{ apiKey: [] }],
        params: IdParam,
        response: { 200: ConnectorTemplate, ...errors },
      },
    },
    async (req, reply) => {
      const row = await loadConnector(db, req.auth?.tenantId ?? '', (req.params as { id: string }).id);
      const secrets = secretKeys(row.platform);
      const config = Object.fromEntries(Object.entries(decodeConfig(keyring, row)).filter(([k]) => !secrets.includes(k)));
      const template: Static<typeof ConnectorTemplate> = {
        format: CONNECTOR_TEMPLATE_FORMAT,
        version: 1,
        platform: row.platform,
        name: row.name,
        config,
        secrets,
        mapping: row.mapping,
        exportedAt: deps.clock().toISOString(),
      };
      void reply.header('content-disposition', attachmentName(row));
      return template;
    },
  );

  app.post(
    '/v1/connectors/import',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage', idempotent: true },
      schema: {
        tags: ['connectors'],
        summary: 'Create a connector from a template file and its secrets',
        description:
          'The template is what GET /v1/connectors/{id}/template answers; `secrets` gives the values it left out (e.g. {"appSecret": "…"}). ' +
          'The connector gets a new source, as POST /v1/connectors does. Honours Idempotency-Key.',
        security: [{ apiKey: [] }],
        body: ConnectorImport,
        response: { 201: Connector, ...errors },
      },
    },
    async (req, reply) => {
      const tenantId = req.auth?.tenantId ?? '';
      const body = req.body as Static<typeof ConnectorImport>;
      const { template } = body;
      const spec = platformSpec(template.platform);
      const secretNames = secretKeys(template.platform);
      const carried = secretNames.filter((k) => template.config[k] !== undefined);
      if (carried.length > 0) {
        // A template is a file people pass around: it must never be a way to ship credentials.
        throw new DatongError('CONNECTOR_TEMPLATE_INVALID', `A template carries no secrets; give ${carried.join(', ')} in "secrets" instead`);
      }
      const given = body.secrets ?? {};
      const unknown = Object.keys(given).filter((k) => !secretNames.includes(k));
      if (unknown.length > 0) {
        throw new DatongError('CONNECTOR_TEMPLATE_INVALID', `Unknown secret ${unknown.join(', ')}; ${template.platform} takes: ${secretNames.join(', ') || 'none'}`);
      }
      const config = { ...spec.parseConfig({ ...template.config, ...given }) };
      assertMappingCompiles(template.mapping, '/template/mapping');
      const now = deps.clock();
      const id = newId('con', now.getTime());
      const name = body.name ?? template.name;
      await db.tx(async (q) => {
        const source = await createSource(q, deps, tenantId, name, spec.sourceType, now);
        await q.query(
          `INSERT INTO connectors (tenant_id, id, platform, name, config_enc, source_id, mapping, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)`,
          [tenantId, id, template.platform, name, keyring.encrypt(JSON.stringify(config)), source.id, JSON.stringify(template.mapping), now.toISOString()],
        );
      });
      return reply.code(201).send(connectorOut(keyring, await loadConnector(db, tenantId, id)));
    },
  );
}
