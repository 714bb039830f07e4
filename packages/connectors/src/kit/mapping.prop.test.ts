import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMapping, compileMapping, previewMapping } from './mapping.js';

// Field names JSONata can address with backticks and that a target path takes as one segment.
const fieldName = fc
  .string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
  .filter((k) => !k.includes('`') && !k.includes('.') && !['__proto__', 'prototype', 'constructor'].includes(k));

const record = fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 });

describe('applyMapping (property)', () => {
  it('returns the input fields unchanged when every field maps to itself', async () => {
    await fc.assert(
      fc.asyncProperty(record, async (input) => {
        // Values go through JSON first, as a payload does (fc.jsonValue may hold -0, JSON has no -0).
        const payload = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
        const spec = Object.fromEntries(Object.keys(payload).map((k) => [k, `$.\`${k}\``]));
        const { output, errors } = await applyMapping(compileMapping(spec), payload);
        expect(errors).toEqual([]);
        // A null field maps to null; every other field to an equal value.
        expect(output).toEqual(payload);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws, whatever the expression, and reports each failing field once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fieldName, fc.string({ maxLength: 30 }), { maxKeys: 5 }), fc.jsonValue({ maxDepth: 2 }), async (spec, sample) => {
        const r = await previewMapping(spec, sample);
        const failed = r.errors.map((e) => e.field);
        expect(new Set(failed).size).toBe(failed.length);
        for (const f of failed) expect(Object.prototype.hasOwnProperty.call(r.output, f)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
