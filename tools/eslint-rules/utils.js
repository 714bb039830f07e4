// Helpers shared by the Datong house rules (STYLE §B, §J.12). Plain ESM so ESLint loads it without a build.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file lives in `<root>/tools/eslint-rules/`. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The linted file's path relative to the repository root, with `/` separators
 * (`packages/core/src/money/money.ts`). Paths are anchored at the root, not matched
 * anywhere in the string, so `packages/x/src/bench/a.ts` is not mistaken for `bench/a.ts`.
 * @param {import('eslint').Rule.RuleContext} context
 * @returns {string}
 */
export function repoPath(context) {
  const filename = context.filename;
  const rel = path.isAbsolute(filename) ? path.relative(REPO_ROOT, filename) : filename;
  return rel.split(path.sep).join('/').replace(/^\.\//, '');
}

/** `foo.test.ts`, `foo.prop.test.ts` (and the .mts/.js variants). */
export function isTestFile(rel) {
  return /\.test\.[cm]?[jt]s$/.test(rel);
}

/** Playwright end-to-end specs: `foo.e2e.ts`. */
export function isE2eFile(rel) {
  return /\.e2e\.[cm]?[jt]s$/.test(rel);
}

/**
 * Whether `identifier` refers to the ambient global of that name rather than to a
 * local binding (parameter, import, variable) that happens to share it.
 * @param {import('eslint').SourceCode} sourceCode
 * @param {import('estree').Identifier} identifier
 */
export function isGlobalReference(sourceCode, identifier) {
  let scope = sourceCode.getScope(identifier);
  while (scope) {
    const variable = scope.set.get(identifier.name);
    // Configured globals and TypeScript lib globals are variables without definitions.
    if (variable) return variable.defs.length === 0;
    scope = scope.upper;
  }
  return true;
}

/**
 * Every value reference in the file to one of `names` that resolves to the global.
 * Uses the scope manager, so `function f(fetch) { fetch() }` is not reported and a
 * property called `process` (`opts.process`) is never a candidate.
 * @param {import('eslint').SourceCode} sourceCode
 * @param {Iterable<string>} names
 * @returns {import('estree').Identifier[]}
 */
export function globalReferences(sourceCode, names) {
  const globalScope = sourceCode.scopeManager?.globalScope;
  if (!globalScope) return [];
  const wanted = new Set(names);
  /** @type {Set<import('estree').Identifier>} */
  const found = new Set();
  for (const ref of globalScope.through) {
    if (wanted.has(ref.identifier.name)) found.add(ref.identifier);
  }
  for (const name of wanted) {
    const variable = globalScope.set.get(name);
    if (variable && variable.defs.length === 0) {
      for (const ref of variable.references) found.add(ref.identifier);
    }
  }
  return [...found].filter((id) => !isInTypePosition(id));
}

/** `ReturnType<typeof setTimeout>` names a type; it does not run anything. */
function isInTypePosition(node) {
  for (let n = node.parent; n; n = n.parent) {
    if (n.type === 'TSTypeQuery' || n.type === 'TSTypeReference' || n.type === 'TSQualifiedName') return true;
    if (!n.type.startsWith('TS')) {
      if (n.type !== 'Identifier' && n.type !== 'MemberExpression') return false;
    }
  }
  return false;
}

/**
 * The static name of a member access: `a.b` and `a['b']` give `b`; `a[b]` gives undefined.
 * @param {import('estree').MemberExpression} member
 */
export function memberName(member) {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal' && typeof member.property.value === 'string') {
    return member.property.value;
  }
  if (
    member.computed &&
    member.property.type === 'TemplateLiteral' &&
    member.property.expressions.length === 0
  ) {
    return member.property.quasis[0]?.value.cooked ?? undefined;
  }
  return undefined;
}

/**
 * If `node` is the object of a static member access (`node.x`, `node['x']`), that access.
 * @returns {import('estree').MemberExpression | undefined}
 */
export function parentMember(node) {
  const parent = node.parent;
  if (parent && parent.type === 'MemberExpression' && parent.object === node) return parent;
  return undefined;
}

/**
 * The value of a string literal or an expression-free template literal, else undefined.
 * @param {import('estree').Node | null | undefined} node
 */
export function staticString(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

/**
 * The key of a non-computed (or literal-computed) object property.
 * @param {import('estree').Property} prop
 */
export function propertyKey(prop) {
  if (prop.type !== 'Property') return undefined;
  if (!prop.computed && prop.key.type === 'Identifier') return prop.key.name;
  return staticString(prop.key);
}

/**
 * The property `name` of an object literal (the last one wins, as in JavaScript).
 * @param {import('estree').ObjectExpression} object
 * @param {string} name
 */
export function findProperty(object, name) {
  let found;
  for (const prop of object.properties) {
    if (prop.type === 'Property' && propertyKey(prop) === name) found = prop;
  }
  return found;
}
