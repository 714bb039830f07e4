// Datong lint config (ESLint 9 flat config). House rules live in tools/eslint-rules (STYLE §B, §J.12).
// Syntax-only: no type-aware rules, so `npm run lint` stays fast and needs no build.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';
import datong from './tools/eslint-rules/index.js';

const TS_FILES = ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'];
const JS_FILES = ['**/*.js', '**/*.mjs', '**/*.cjs'];

// STYLE §H: no `.only`, `.skip` or `todo` in tests.
const focusedOrSkipped = [
  ['it', 'only'],
  ['describe', 'only'],
  ['test', 'only'],
  ['it', 'skip'],
  ['describe', 'skip'],
  ['test', 'skip'],
  ['it', 'todo'],
  ['describe', 'todo'],
  ['test', 'todo'],
].map(([object, property]) => ({
  object,
  property,
  message: `No \`${object}.${property}\` in committed tests (STYLE §H): run a subset with \`vitest run -t\`, and track unfinished work in an issue.`,
}));

export default defineConfig([
  globalIgnores(['**/dist/**', '**/node_modules/**', '.datong/**', 'coverage/**', 'bench/results/**', 'test-artifacts/**']),

  {
    name: 'datong/typescript',
    files: TS_FILES,
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: 'latest',
      sourceType: 'module',
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  {
    name: 'datong/javascript',
    files: JS_FILES,
    extends: [js.configs.recommended],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      'no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    name: 'datong/commonjs',
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  {
    name: 'datong/house-rules',
    files: [...TS_FILES, ...JS_FILES],
    plugins: { datong },
    rules: {
      // Each rule scopes itself by repo-relative path (core, server routes, config loader).
      'datong/no-io-in-core': 'error',
      'datong/route-declares-auth': 'error',
      'datong/no-process-env-outside-config': 'error',
      // STYLE §G: logs go through pino; only CLI output and dev tooling print.
      'no-console': 'error',
      'no-restricted-properties': ['error', ...focusedOrSkipped],
    },
  },
  {
    // The web console runs in the browser (React): its hooks follow React's rules.
    name: 'datong/web-console',
    files: ['packages/console/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    name: 'datong/console-allowed',
    files: ['packages/cli/src/**', 'scripts/**', 'bench/**', 'tools/**'],
    rules: { 'no-console': 'off' },
  },
]);
