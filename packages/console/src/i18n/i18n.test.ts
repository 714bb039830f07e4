import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { en } from './en';
import { zhCN } from './zh-CN';

const SRC = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) && !f.endsWith('.test.ts') ? [p] : [];
  });
}

function has(catalog: unknown, key: string): boolean {
  let node: unknown = catalog;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string';
}

describe('the console translations', () => {
  it('have every literal key the code asks for, in both languages', () => {
    const keys = new Set<string>();
    for (const f of files(SRC)) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z][\w.-]*)'/g)) if (m[1]) keys.add(m[1]);
      for (const m of text.matchAll(/'((?:rules)\.(?:err|s)[\w.]*)'/g)) if (m[1]?.includes('.')) keys.add(m[1]);
    }
    expect(keys.size).toBeGreaterThan(100);
    const missing = [...keys].filter((k) => !has(zhCN, k) || !has(en, k));
    expect(missing).toEqual([]);
  });
});
