import { previewMapping } from '@datong/connectors';
import { Connector, IdParam, MappingBody, MappingPreview, MappingPreviewBody, Problem, type Static } from '@datong/contracts';
import type { FastifyInstance } from 'fastify';
import type { ServerDeps } from '../../usecases/context.js';
import { assertMappingCompiles, connectorOut, loadConnector } from './connector-templates.routes.js';

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** Field mappings (issue 3): a live preview for the console's editor, and a connector's stored mapping. */
export function mappingsRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { db, keyring } = deps;

  app.post(
    '/v1/mappings/preview',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: 'Evaluate a mapping against a sample payload',
        description:
          'Each target field is a JSONata expression (https://docs.jsonata.org/), evaluated with a time limit (100 ms), a depth limit and a ' +
          'sequence-length limit. Fields that fail are listed in `errors` with JSONata\'s code, message and position; the others appear in ' +
          '`output` (a dotted target field builds nested objects). Nothing is stored.',
        security: [{ apiKey: [] }],
        body: MappingPreviewBody,
        response: { 200: MappingPreview, ...errors },
      },
    },
    async (req) => {
      const body = req.body as Static<typeof MappingPreviewBody>;
      const r = await previewMapping(body.mapping, body.sample);
      return { output: r.output, errors: [...r.errors] };
    },
  );

  app.put(
    '/v1/connectors/:id/mapping',
    {
      config: { auth: 'apiKey:admin', permission: 'connectors.manage' },
      schema: {
        tags: ['connectors'],
        summary: "Replace a connector's field mapping",
        description: 'Every expression must compile: otherwise 400 MAPPING_INVALID naming the field and JSONata\'s message (all problems in `fieldErrors`).',
        security: [{ apiKey: [] }],
        params: IdParam,
        body: MappingBody,
        response: { 200: Connector, ...errors },
      },
    },
    async (req) => {
      const tenantId = req.auth?.tenantId ?? '';
      const id = (req.params as { id: string }).id;
      const { mapping } = req.body as Static<typeof MappingBody>;
      await loadConnector(db, tenantId, id);
      assertMappingCompiles(mapping, '/mapping');
      await db.query('UPDATE connectors SET mapping = $3::jsonb, updated_at = $4 WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        id,
        JSON.stringify(mapping),
        deps.clock().toISOString(),
      ]);
      return connectorOut(keyring, await loadConnector(db, tenantId, id));
    },
  );
}
