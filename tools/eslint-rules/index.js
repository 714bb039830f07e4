// Datong house rules as a local ESLint plugin (STYLE §B, §J.12). Registered as `datong/*` in the
// root eslint.config.js. Each rule decides from the file's repo-relative path where it applies.
import noIoInCore from './no-io-in-core.js';
import noProcessEnvOutsideConfig from './no-process-env-outside-config.js';
import routeDeclaresAuth from './route-declares-auth.js';

/** @type {import('eslint').ESLint.Plugin} */
const plugin = {
  meta: { name: 'eslint-plugin-datong', version: '0.1.0' },
  rules: {
    'no-io-in-core': noIoInCore,
    'route-declares-auth': routeDeclaresAuth,
    'no-process-env-outside-config': noProcessEnvOutsideConfig,
  },
};

export default plugin;
export const { rules } = plugin;
