// datong/no-process-env-outside-config — STYLE §B and §F: configuration is read once, in
// packages/server/src/config/load.ts (validated, frozen) or by the CLI; everything else gets the
// config object. Tests, benchmarks, scripts, tools and vitest.config.ts may read the environment.
import { globalReferences, isE2eFile, isTestFile, memberName, parentMember, propertyKey, repoPath, staticString } from './utils.js';

const ALLOWED_FILES = new Set(['packages/server/src/config/load.ts']);
const ALLOWED_DIRS = ['packages/cli/src/', 'bench/', 'scripts/', 'tools/'];
const PROCESS_MODULES = new Set(['process', 'node:process']);

/** @param {string} rel */
function isAllowed(rel) {
  if (ALLOWED_FILES.has(rel)) return true;
  if (ALLOWED_DIRS.some((dir) => rel.startsWith(dir))) return true;
  if (isTestFile(rel) || isE2eFile(rel)) return true;
  // Test-only helpers (never built into dist) may read the test environment too.
  if (/^packages\/[^/]+\/src\/test-support\//.test(rel)) return true;
  return /(^|\/)vitest\.config\.[cm]?[jt]s$/.test(rel);
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: {
      description:
        'process.env is read only in packages/server/src/config/load.ts and packages/cli/src (plus tests, bench, scripts, tools)',
    },
    schema: [],
    messages: {
      processEnv:
        '`{{what}}` reads the environment outside the config loader (STYLE §B, §F). Add the setting to packages/server/src/config (schema.ts + load.ts) and take it from the config object.',
    },
  },

  create(context) {
    const rel = repoPath(context);
    if (isAllowed(rel)) return {};
    const sourceCode = context.sourceCode;

    /** @param {import('estree').Node} node */
    const report = (node) => context.report({ node, messageId: 'processEnv', data: { what: sourceCode.getText(node) } });

    /**
     * `node` denotes the process object (`process`, `globalThis.process`, an import of
     * node:process). Report `node.env` and `const { env } = node`.
     * @param {import('estree').Node} node
     */
    function checkProcessObject(node) {
      const member = parentMember(node);
      if (member) {
        if (memberName(member) === 'env') report(member);
        return;
      }
      let parent = node.parent;
      // `(process as NodeJS.Process).env`, `process!.env`
      while (parent && (parent.type === 'TSAsExpression' || parent.type === 'TSNonNullExpression' || parent.type === 'TSSatisfiesExpression')) {
        node = parent;
        parent = parent.parent;
      }
      const outer = parentMember(node);
      if (outer) {
        if (memberName(outer) === 'env') report(outer);
        return;
      }
      // `const { env } = process` / `({ env } = process)`
      const pattern =
        parent?.type === 'VariableDeclarator' && parent.init === node
          ? parent.id
          : parent?.type === 'AssignmentExpression' && parent.right === node
            ? parent.left
            : undefined;
      if (pattern?.type === 'ObjectPattern') {
        for (const prop of pattern.properties) {
          if (prop.type === 'Property' && propertyKey(prop) === 'env') report(prop);
        }
      }
    }

    return {
      ImportDeclaration(node) {
        const source = staticString(node.source);
        if (source === undefined || !PROCESS_MODULES.has(source)) return;
        for (const spec of node.specifiers) {
          if (spec.type === 'ImportSpecifier') {
            const imported = spec.imported.type === 'Identifier' ? spec.imported.name : spec.imported.value;
            if (imported === 'env') report(spec);
            continue;
          }
          // `import process from 'node:process'` / `import * as process from 'node:process'`
          for (const variable of sourceCode.getDeclaredVariables(spec)) {
            for (const ref of variable.references) checkProcessObject(ref.identifier);
          }
        }
      },
      'Program:exit'() {
        for (const id of globalReferences(sourceCode, ['process', 'globalThis'])) {
          if (id.name === 'process') {
            checkProcessObject(id);
            continue;
          }
          const member = parentMember(id);
          if (member && memberName(member) === 'process') checkProcessObject(member);
        }
      },
    };
  },
};
