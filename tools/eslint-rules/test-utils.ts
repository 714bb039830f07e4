// Runs ESLint's RuleTester under Vitest (RuleTester defaults to Mocha's globals).
import path from 'node:path';
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import { REPO_ROOT } from './utils.js';

RuleTester.describe = describe;
RuleTester.it = it;

export function ruleTester(): RuleTester {
  return new RuleTester({
    languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
  });
}

/** An absolute path inside the repository, as ESLint passes it to rules. */
export function at(rel: string): string {
  return path.join(REPO_ROOT, rel);
}
