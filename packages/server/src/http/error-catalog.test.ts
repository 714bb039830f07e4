import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, RETIRED_CODES, type ErrorKind } from '@datong/core';
import { KIND_HTTP_STATUS } from './problem.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/errors.md', import.meta.url)), 'utf8');
const documented = [...doc.matchAll(/<a id="([A-Z0-9_]+)"><\/a>/g)].map((m) => m[1]);

// The catalog lives in core (pure); this test reads the docs, so it lives on the server side.
describe('error catalog', () => {
  it('maps every kind to an HTTP status, and every code to a kind', () => {
    for (const spec of Object.values(ERROR_CATALOG)) expect(KIND_HTTP_STATUS[spec.kind as ErrorKind]).toBeGreaterThanOrEqual(400);
  });
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
