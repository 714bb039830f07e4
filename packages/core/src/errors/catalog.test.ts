import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, RETIRED_CODES } from './catalog.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/errors.md', import.meta.url)), 'utf8');
const documented = [...doc.matchAll(/<a id="([A-Z0-9_]+)"><\/a>/g)].map((m) => m[1]);

describe('error catalog', () => {
  it('documents every code in docs/errors.md', () => {
    for (const code of Object.keys(ERROR_CATALOG)) expect(documented, `${code} missing from docs/errors.md`).toContain(code);
  });
  it('documents no code that does not exist', () => {
    for (const code of documented) expect(Object.keys(ERROR_CATALOG), `docs/errors.md lists unknown ${code}`).toContain(code);
  });
  it('never reuses a retired code', () => {
    for (const code of RETIRED_CODES) expect(Object.keys(ERROR_CATALOG)).not.toContain(code);
  });
  it('names codes AREA_WHAT in SCREAMING_SNAKE_CASE', () => {
    for (const code of Object.keys(ERROR_CATALOG)) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });
});
