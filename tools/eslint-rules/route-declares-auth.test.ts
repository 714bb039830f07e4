import rule from './route-declares-auth.js';
import { at, ruleTester } from './test-utils.js';

const routes = at('packages/server/src/routes/v1/customers.routes.ts');
const policies = "one of 'public', 'writeKey', 'customerToken', 'apiKey:read', 'apiKey:write', 'apiKey:admin', 'session'";
/** The full message data (RuleTester needs every placeholder filled). */
const d = (method: string, path: string, extra: { value?: string } = {}) => ({ method, path, policies, ...extra });

ruleTester().run('datong/route-declares-auth', rule, {
  valid: [
    ...['public', 'writeKey', 'customerToken', 'apiKey:read', 'apiKey:write', 'apiKey:admin', 'session'].map((auth) => ({
      filename: routes,
      code: `app.get('/v1/x', { config: { auth: '${auth}' } }, async () => ({}));`,
    })),
    {
      filename: routes,
      code: [
        "app.post('/v1/tags', { schema: {}, config: { idempotent: true, auth: 'apiKey:write' } }, handler);",
        "fastify.delete(`/v1/tags/${'x'}`, { config: { auth: `apiKey:admin` } }, handler);",
        "app.put('/v1/a', { config: { ...base, auth: 'apiKey:write' } }, handler);",
        // The shorthand with the handler inside the options.
        "app.patch('/v1/a', { handler, config: { auth: 'apiKey:write' } });",
        "app['head']('/v1/a', { config: { 'auth': 'public' } }, handler);",
      ].join('\n'),
    },
    {
      filename: routes,
      code: "app.route({ method: 'GET', url: '/v1/customers/:id', config: { auth: 'apiKey:read' }, handler });",
    },
    // Not route registrations: no leading slash, one argument, or not a route method.
    {
      filename: routes,
      code: [
        "const v = headers.get('x-request-id');",
        "const c = cache.get('/v1/x');",
        "const m = map.set('/v1/x', handler);",
        "app.register(plugin, { prefix: '/v1' });",
        'app.get(path, handler);',
        "app.route({ method: 'GET' });",
      ].join('\n'),
    },
    // Outside packages/server/src/routes the rule does not apply.
    { filename: at('packages/server/src/app.ts'), code: "app.get('/x', async () => 1);" },
    { filename: at('packages/connectors/src/kit/fake-server.ts'), code: "app.post('/cgi-bin/token', handler);" },
    // Extra policies can be configured, e.g. a role-bound `session:<role>`.
    {
      filename: routes,
      options: [{ policies: ['session:admin'] }],
      code: "app.get('/v1/me', { config: { auth: 'session:admin' } }, handler);",
    },
  ],
  invalid: [
    {
      filename: routes,
      code: "app.get('/v1/customers', async () => []);",
      errors: [
        {
          messageId: 'noOptions',
          data: d('GET', "'/v1/customers'"),
        },
      ],
    },
    {
      filename: routes,
      code: "app.post('/v1/customers', { schema: {} }, handler);",
      errors: [{ messageId: 'noAuth', data: d('POST', "'/v1/customers'") }],
    },
    {
      filename: routes,
      code: "app.post('/v1/customers', { config: { idempotent: true } }, handler);",
      errors: [{ messageId: 'noAuth' }],
    },
    {
      filename: routes,
      code: "app.put('/v1/customers/:id', { config: { auth: 'admin' } }, handler);",
      errors: [{ messageId: 'badAuth', data: d('PUT', "'/v1/customers/:id'", { value: "'admin'" }) }],
    },
    // A computed policy cannot be checked, so it does not count.
    {
      filename: routes,
      code: "app.delete(`/v1/tags/${id}`, { config: { auth: `apiKey:${scope}` } }, handler);\napp.get('/v1/a', { config: { auth: policy } }, handler);",
      errors: [
        { messageId: 'badAuth', line: 1, data: d('DELETE', '`/v1/tags/${id}`', { value: '`apiKey:${scope}`' }) },
        { messageId: 'badAuth', line: 2, data: d('GET', "'/v1/a'", { value: 'policy' }) },
      ],
    },
    {
      filename: routes,
      code: "app.get('/v1/a', routeOptions, handler);\napp.get('/v1/b', { config: sharedConfig }, handler);",
      errors: [
        { messageId: 'optionsNotLiteral', line: 1 },
        { messageId: 'configNotLiteral', line: 2 },
      ],
    },
    {
      filename: routes,
      code: "app.route({ method: ['GET', 'HEAD'], url: '/v1/x', handler });\nfastify.route({ method: 'POST', url: '/v1/y', config: { auth: 'nobody' }, handler });",
      errors: [
        { messageId: 'noAuth', line: 1, data: d('GET|HEAD', "'/v1/x'") },
        { messageId: 'badAuth', line: 2, data: d('POST', "'/v1/y'", { value: "'nobody'" }) },
      ],
    },
    {
      filename: at('packages/server/src/routes/hooks/hooks.routes.ts'),
      code: "app.all('/v1/hooks/:platform/:connectorId', handler);\napp.options('/v1/x', handler);",
      errors: [
        { messageId: 'noOptions', data: d('ALL', "'/v1/hooks/:platform/:connectorId'") },
        { messageId: 'noOptions', data: d('OPTIONS', "'/v1/x'") },
      ],
    },
  ],
});
