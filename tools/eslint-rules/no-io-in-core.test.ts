import rule from './no-io-in-core.js';
import { at, ruleTester } from './test-utils.js';

const core = at('packages/core/src/identity/match.ts');
const coreTest = at('packages/core/src/identity/match.test.ts');
const server = at('packages/server/src/app.ts');

ruleTester().run('datong/no-io-in-core', rule, {
  valid: [
    // Pure imports stay allowed: node:crypto hashing is deterministic.
    { filename: core, code: "import { createHash } from 'node:crypto';\nimport { foo } from './foo.js';" },
    { filename: core, code: "import type { Clock } from '../clock.js';" },
    // Time and randomness passed in as parameters are the whole point.
    { filename: core, code: 'export const decide = (now: Date, newId: () => string) => ({ at: now, id: newId() });' },
    { filename: core, code: 'const d = new Date(input.createdAt); const e = new Date(0);' },
    { filename: core, code: 'const x = Date.parse(s); const y = Date.UTC(2024, 0, 1); const z = Math.floor(1.5);' },
    // A local binding that shadows a global is not the global.
    { filename: core, code: 'export function run(fetch: () => void, process: { env: string }) { fetch(); return process.env; }' },
    { filename: core, code: 'export const o = { process: 1, fetch: 2, setTimeout: 3 }; o.process; o.fetch;' },
    // A type that mentions a timer runs nothing.
    { filename: core, code: 'type Handle = ReturnType<typeof setTimeout>;' },
    // Test files may use the clock and randomness...
    {
      filename: coreTest,
      code: "const t = new Date(); const n = Date.now(); const r = Math.random(); setTimeout(() => {}, 1);\nimport { randomUUID } from 'node:crypto';",
    },
    // ...and the rule only applies to packages/core/src.
    { filename: server, code: "import fs from 'node:fs'; import { x } from '@datong/core'; Date.now(); process.env.X; fetch('/');" },
    { filename: at('packages/core/package.json.ts'), code: "import fs from 'node:fs';" },
    { filename: at('packages/connectors/src/core/src/x.ts'), code: "import fs from 'node:fs';" },
  ],
  invalid: [
    ...[
      'node:fs',
      'fs',
      'node:fs/promises',
      'fs/promises',
      'node:net',
      'node:http',
      'node:https',
      'node:child_process',
      'node:dns',
      'pg',
      'pg/lib/client',
      '@electric-sql/pglite',
      '@electric-sql/pglite/vector',
      'undici',
      'fastify',
      'node:process',
      'node:timers/promises',
    ].map((source) => ({
      filename: core,
      code: `import x from '${source}';`,
      errors: [{ messageId: 'importIo' as const, data: { source } }],
    })),
    {
      filename: core,
      code: "import { Pool } from 'pg';\nexport * from 'node:fs';\nexport { readFile } from 'node:fs/promises';\nconst m = await import('undici');\ntype F = import('fastify').FastifyInstance;",
      errors: [
        { messageId: 'importIo', line: 1 },
        { messageId: 'importIo', line: 2 },
        { messageId: 'importIo', line: 3 },
        { messageId: 'importIo', line: 4 },
        { messageId: 'importIo', line: 5 },
      ],
    },
    // Type-only imports count too: core does not depend on these packages at all.
    {
      filename: core,
      code: "import type { FastifyInstance } from 'fastify';",
      errors: [{ messageId: 'importIo' }],
    },
    {
      filename: core,
      code: "import { Type } from '@datong/contracts';\nimport type { Db } from '@datong/server';",
      errors: [
        { messageId: 'importDatong', data: { source: '@datong/contracts' } },
        { messageId: 'importDatong', data: { source: '@datong/server' } },
      ],
    },
    // The import part applies to test files as well.
    {
      filename: coreTest,
      code: "import { readFileSync } from 'node:fs';\nimport { x } from '@datong/core';",
      errors: [{ messageId: 'importIo' }, { messageId: 'importDatong' }],
    },
    {
      filename: core,
      code: 'const a = Date.now();\nconst b = new Date();\nconst c = Date();\nconst clock = Date.now;\nconst d = globalThis.Date.now();',
      errors: [
        { messageId: 'clock', line: 1, data: { what: 'Date.now()' } },
        { messageId: 'clock', line: 2, data: { what: 'new Date()' } },
        { messageId: 'clock', line: 3, data: { what: 'Date()' } },
        { messageId: 'clock', line: 4 },
        { messageId: 'clock', line: 5 },
      ],
    },
    {
      filename: core,
      code: "const r = Math.random();\nconst id = crypto.randomUUID();\nimport { randomUUID, createHash } from 'node:crypto';",
      errors: [
        { messageId: 'random', line: 1, data: { what: 'Math.random()' } },
        { messageId: 'random', line: 2, data: { what: 'crypto.randomUUID()' } },
        { messageId: 'importRandom', line: 3, data: { name: 'randomUUID', source: 'node:crypto' } },
      ],
    },
    {
      filename: core,
      code: 'setTimeout(run, 10);\nconst h = setInterval(run, 10);\nglobalThis.setTimeout(run, 1);',
      errors: [
        { messageId: 'timer', line: 1 },
        { messageId: 'timer', line: 2 },
        { messageId: 'timer', line: 3, data: { what: 'globalThis.setTimeout' } },
      ],
    },
    {
      filename: core,
      code: "const url = process.env.DATABASE_URL;\nprocess.exit(1);\nconst { argv } = process;\nconst res = await fetch('https://example.com');",
      errors: [
        { messageId: 'process', line: 1, data: { what: 'process.env' } },
        { messageId: 'process', line: 2, data: { what: 'process.exit' } },
        { messageId: 'process', line: 3, data: { what: 'process' } },
        { messageId: 'network', line: 4, data: { what: 'fetch' } },
      ],
    },
    // Tests are exempt from the clock and randomness only: process and the network stay out.
    {
      filename: coreTest,
      code: "const n = process.env.FC_RUNS;\nawait globalThis.fetch('http://127.0.0.1');",
      errors: [
        { messageId: 'process', line: 1 },
        { messageId: 'network', line: 2 },
      ],
    },
  ],
});
