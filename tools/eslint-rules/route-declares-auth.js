// datong/route-declares-auth — STYLE §B: every route declares its auth policy in its options,
// as twentyhq/twenty's `rest-api-methods-should-be-guarded` requires a guard on every endpoint.
// The policy lives in `config.auth` so the server's auth hook and this rule read the same place.
// A deliberate exception uses `// eslint-disable-next-line datong/route-declares-auth -- <issue>`.
import { findProperty, memberName, repoPath, staticString } from './utils.js';

const ROUTES_DIR = 'packages/server/src/routes/';

// `session`: a signed-in console user only (apiKey:* routes accept a session too; see server/src/http/auth.ts).
export const DEFAULT_POLICIES = ['public', 'writeKey', 'customerToken', 'apiKey:read', 'apiKey:write', 'apiKey:admin', 'session'];

/** Fastify's shorthand methods, plus `route({ method, url, … })`. */
const SHORTHANDS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'all']);

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: {
      description: 'Every Fastify route under packages/server/src/routes declares `config: { auth }` with a known policy',
    },
    schema: [
      {
        type: 'object',
        properties: {
          policies: { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      noOptions:
        'Route {{method}} {{path}} declares no auth policy: pass an options object `{ config: { auth: … } }` before the handler ({{policies}}).',
      optionsNotLiteral:
        'Route {{method}} {{path}}: write its options as an object literal so `config.auth` can be checked ({{policies}}).',
      noAuth: 'Route {{method}} {{path}} declares no auth policy: add `config: { auth: … }` to its options ({{policies}}).',
      configNotLiteral:
        'Route {{method}} {{path}}: write `config` as an object literal with an `auth` property so the policy can be checked ({{policies}}).',
      badAuth:
        'Route {{method}} {{path}} declares auth {{value}}, which is not a known policy ({{policies}}). Use a plain string literal.',
    },
  },

  create(context) {
    const rel = repoPath(context);
    if (!rel.startsWith(ROUTES_DIR)) return {};
    const policies = context.options[0]?.policies ?? DEFAULT_POLICIES;
    const allowed = new Set(policies);
    const policyList = `one of ${policies.map((p) => `'${p}'`).join(', ')}`;
    const sourceCode = context.sourceCode;

    /** A path argument: a string or template literal that starts with `/`. */
    function routePath(node) {
      if (node?.type === 'Literal' && typeof node.value === 'string' && node.value.startsWith('/')) return `'${node.value}'`;
      if (node?.type === 'TemplateLiteral' && (node.quasis[0]?.value.cooked ?? '').startsWith('/')) return sourceCode.getText(node);
      return undefined;
    }

    /**
     * @param {import('estree').Node} node where to report
     * @param {import('estree').Node | undefined} options the options argument (or the route object)
     * @param {{ method: string, path: string }} route
     */
    function checkOptions(node, options, route) {
      const data = { ...route, policies: policyList };
      if (!options) {
        context.report({ node, messageId: 'noOptions', data });
        return;
      }
      if (options.type !== 'ObjectExpression') {
        context.report({ node: options, messageId: 'optionsNotLiteral', data });
        return;
      }
      const config = findProperty(options, 'config');
      if (!config) {
        context.report({ node: options, messageId: 'noAuth', data });
        return;
      }
      if (config.value.type !== 'ObjectExpression') {
        context.report({ node: config.value, messageId: 'configNotLiteral', data });
        return;
      }
      const auth = findProperty(config.value, 'auth');
      if (!auth) {
        context.report({ node: config.value, messageId: 'noAuth', data });
        return;
      }
      const value = staticString(auth.value);
      if (value === undefined || !allowed.has(value)) {
        context.report({
          node: auth.value,
          messageId: 'badAuth',
          data: { ...data, value: value === undefined ? sourceCode.getText(auth.value) : `'${value}'` },
        });
      }
    }

    /** `method: 'GET'` or `method: ['GET', 'HEAD']` in a route object. */
    function routeObjectMethod(object) {
      const method = findProperty(object, 'method');
      if (!method) return 'ROUTE';
      const single = staticString(method.value);
      if (single !== undefined) return single.toUpperCase();
      if (method.value.type === 'ArrayExpression') {
        const names = method.value.elements.map((e) => staticString(e));
        if (names.every((n) => n !== undefined)) return names.join('|').toUpperCase();
      }
      return sourceCode.getText(method.value);
    }

    return {
      CallExpression(node) {
        if (node.callee.type !== 'MemberExpression') return;
        const name = memberName(node.callee);
        if (name === undefined) return;
        const [first, second] = node.arguments;

        if (name === 'route') {
          if (first?.type !== 'ObjectExpression') return;
          const url = findProperty(first, 'url');
          if (!url) return;
          const path = routePath(url.value) ?? sourceCode.getText(url.value);
          checkOptions(node, first, { method: routeObjectMethod(first), path });
          return;
        }

        if (!SHORTHANDS.has(name)) return;
        const path = routePath(first);
        // A route needs a handler, so `cache.get('/x')` with one argument is not a route.
        if (path === undefined || node.arguments.length < 2) return;
        const method = name.toUpperCase();
        // `app.get(path, handler)` has no options; `app.get(path, { handler, config })` and
        // `app.get(path, options, handler)` do.
        const options = second?.type === 'ObjectExpression' || node.arguments.length >= 3 ? second : undefined;
        checkOptions(node, options, { method, path });
      },
    };
  },
};
