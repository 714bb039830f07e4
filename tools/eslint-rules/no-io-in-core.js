// datong/no-io-in-core — STYLE §B: `core` is pure. It imports no Node I/O, no driver, no web
// framework and no other Datong package, and it reads neither the clock, randomness, timers,
// the network nor `process`. Time and ids come in as parameters (`clock`, `newId`).
import { globalReferences, isTestFile, memberName, parentMember, repoPath, staticString } from './utils.js';

const CORE_SRC = 'packages/core/src/';

/** Forbidden module specifiers; each also forbids its subpaths (`pg/lib/x`, `node:fs/promises`). */
const FORBIDDEN_MODULES = [
  'node:fs',
  'fs',
  'node:net',
  'net',
  'node:http',
  'http',
  'node:https',
  'https',
  'node:child_process',
  'child_process',
  'node:dns',
  'dns',
  // The module forms of globals banned below: importing them is the same thing.
  'node:process',
  'process',
  'node:timers',
  'timers',
  'pg',
  '@electric-sql/pglite',
  'undici',
  'fastify',
];

/** `node:crypto` is pure except for these, which draw randomness. */
const RANDOM_CRYPTO_EXPORTS = new Set([
  'randomUUID',
  'randomBytes',
  'randomInt',
  'randomFill',
  'randomFillSync',
  'getRandomValues',
  'generateKey',
  'generateKeySync',
  'generateKeyPair',
  'generateKeyPairSync',
  'generatePrime',
  'generatePrimeSync',
]);

const AMBIENT_GLOBALS = ['Date', 'Math', 'process', 'setTimeout', 'setInterval', 'fetch', 'crypto', 'globalThis'];

/** @param {string} source */
function forbiddenReason(source) {
  if (source === '@datong' || source.startsWith('@datong/')) return 'datong';
  for (const mod of FORBIDDEN_MODULES) {
    if (source === mod || source.startsWith(`${mod}/`)) return 'io';
  }
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Keep packages/core pure: no Node I/O, drivers, frameworks or other @datong packages, and no clock, randomness, timers, network or process access',
    },
    schema: [],
    messages: {
      importIo:
        "packages/core is pure (STYLE §B): '{{source}}' does I/O and may not be imported here. Do the I/O in server or connectors and pass the result in.",
      importDatong:
        "packages/core imports no other Datong package (STYLE §B: nothing points back to core's dependents): remove the import of '{{source}}'.",
      importRandom:
        "packages/core has no randomness (STYLE §B): '{{name}}' from '{{source}}' is random. Take a `newId`/`random` function as a parameter instead.",
      clock:
        'packages/core has no clock (STYLE §B): `{{what}}` reads the current time. Take `now`/`clock` as a parameter instead.',
      random:
        'packages/core has no randomness (STYLE §B): `{{what}}` is random. Take a `newId`/`random` function as a parameter instead.',
      timer:
        'packages/core schedules nothing (STYLE §B): `{{what}}` depends on the clock. Return a decision and let the caller schedule it.',
      process:
        'packages/core may not touch `process` (STYLE §B): `{{what}}`. Configuration and environment come in as parameters.',
      network:
        'packages/core does no network I/O (STYLE §B): `{{what}}`. Do the request in server or connectors and pass the result in.',
    },
  },

  create(context) {
    const rel = repoPath(context);
    if (!rel.startsWith(CORE_SRC)) return {};
    // Tests may build fixed dates and draw random inputs; they may not import I/O.
    const checkAmbient = !isTestFile(rel);
    const sourceCode = context.sourceCode;

    /**
     * @param {import('estree').Node} node the node to report
     * @param {import('estree').Node | null | undefined} sourceNode the module specifier
     * @param {import('estree').Node[]} [specifiers]
     */
    function checkSource(node, sourceNode, specifiers = []) {
      const source = staticString(sourceNode);
      if (source === undefined) return;
      const reason = forbiddenReason(source);
      if (reason === 'io') context.report({ node, messageId: 'importIo', data: { source } });
      else if (reason === 'datong') context.report({ node, messageId: 'importDatong', data: { source } });
      else if (checkAmbient && (source === 'node:crypto' || source === 'crypto')) {
        for (const spec of specifiers) {
          if (spec.type !== 'ImportSpecifier' && spec.type !== 'ExportSpecifier') continue;
          const imported = spec.type === 'ImportSpecifier' ? spec.imported : spec.local;
          const name = imported.type === 'Identifier' ? imported.name : String(imported.value);
          if (RANDOM_CRYPTO_EXPORTS.has(name)) {
            context.report({ node: spec, messageId: 'importRandom', data: { name, source } });
          }
        }
      }
    }

    /**
     * Report a use of an ambient global. `node` is the expression that denotes it: the
     * identifier itself, or `globalThis.X`.
     * @param {import('estree').Node} node
     * @param {string} name
     */
    function checkAmbientUse(node, name) {
      const member = parentMember(node);
      const prop = member ? memberName(member) : undefined;
      const text = (n) => sourceCode.getText(n);
      switch (name) {
        case 'Date': {
          const parent = node.parent;
          if (prop === 'now') context.report({ node: member, messageId: 'clock', data: { what: `${text(member)}()` } });
          else if (parent?.type === 'NewExpression' && parent.callee === node && parent.arguments.length === 0) {
            context.report({ node: parent, messageId: 'clock', data: { what: text(parent) } });
          } else if (parent?.type === 'CallExpression' && parent.callee === node) {
            context.report({ node: parent, messageId: 'clock', data: { what: text(parent) } });
          }
          return;
        }
        case 'Math':
          if (prop === 'random') context.report({ node: member, messageId: 'random', data: { what: `${text(member)}()` } });
          return;
        case 'crypto':
          if (prop !== undefined && RANDOM_CRYPTO_EXPORTS.has(prop)) {
            context.report({ node: member, messageId: 'random', data: { what: `${text(member)}()` } });
          }
          return;
        case 'setTimeout':
        case 'setInterval':
          context.report({ node, messageId: 'timer', data: { what: text(node) } });
          return;
        case 'process':
          context.report({ node: member ?? node, messageId: 'process', data: { what: text(member ?? node) } });
          return;
        case 'fetch':
          context.report({ node, messageId: 'network', data: { what: text(node) } });
          return;
        case 'globalThis':
          if (member && prop !== undefined && prop !== 'globalThis' && AMBIENT_GLOBALS.includes(prop)) {
            checkAmbientUse(member, prop);
          }
          return;
        default:
      }
    }

    return {
      ImportDeclaration(node) {
        checkSource(node, node.source, node.specifiers);
      },
      ExportNamedDeclaration(node) {
        if (node.source) checkSource(node, node.source, node.specifiers);
      },
      ExportAllDeclaration(node) {
        checkSource(node, node.source);
      },
      ImportExpression(node) {
        checkSource(node, node.source);
      },
      // `type T = import('pg').Pool`
      TSImportType(node) {
        const arg = node.argument?.type === 'TSLiteralType' ? node.argument.literal : node.argument;
        checkSource(node, arg);
      },
      // `import fs = require('node:fs')`
      TSExternalModuleReference(node) {
        checkSource(node.parent ?? node, node.expression);
      },
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length > 0) {
          checkSource(node, node.arguments[0]);
        }
      },
      'Program:exit'() {
        const names = checkAmbient ? AMBIENT_GLOBALS : ['process', 'fetch', 'globalThis'];
        for (const id of globalReferences(sourceCode, names)) {
          if (!checkAmbient && id.name === 'globalThis') {
            const prop = parentMember(id) ? memberName(parentMember(id)) : undefined;
            if (prop === 'process' || prop === 'fetch') checkAmbientUse(parentMember(id), prop);
            continue;
          }
          checkAmbientUse(id, id.name);
        }
      },
    };
  },
};
