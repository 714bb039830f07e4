import rule from './no-process-env-outside-config.js';
import { at, ruleTester } from './test-utils.js';

const app = at('packages/server/src/app.ts');
const read = 'const url = process.env.DATABASE_URL;';

ruleTester().run('datong/no-process-env-outside-config', rule, {
  valid: [
    // The places allowed to read the environment.
    ...[
      'packages/server/src/config/load.ts',
      'packages/cli/src/main.ts',
      'packages/cli/src/commands/doctor.ts',
      'packages/server/src/config/load.test.ts',
      'packages/core/src/money/money.prop.test.ts',
      'packages/console/e2e/login.e2e.ts',
      'bench/ingest.bench.ts',
      'scripts/start.mjs',
      'tools/eslint-rules/x.ts',
      'vitest.config.ts',
    ].map((rel) => ({ filename: at(rel), code: read })),
    // Other uses of process are not this rule's business.
    { filename: app, code: 'process.exitCode = 1; process.on("SIGTERM", stop); const m = process.memoryUsage();' },
    // A local `process` or an `env` property of something else is not the environment.
    { filename: app, code: 'export function f(process: { env: string }) { return process.env; }\nconst e = config.env; const { env } = opts;' },
    { filename: app, code: "import { argv } from 'node:process';" },
  ],
  invalid: [
    {
      filename: app,
      code: read,
      errors: [{ messageId: 'processEnv', data: { what: 'process.env' } }],
    },
    {
      filename: at('packages/server/src/config/schema.ts'),
      code: "const port = process.env['PORT'];\nconst { env } = process;\nconst g = globalThis.process.env.HOST;\nconst h = (process as NodeJS.Process).env;\nconst o = process?.env;",
      errors: [
        { messageId: 'processEnv', line: 1 },
        { messageId: 'processEnv', line: 2 },
        { messageId: 'processEnv', line: 3, data: { what: 'globalThis.process.env' } },
        { messageId: 'processEnv', line: 4 },
        { messageId: 'processEnv', line: 5 },
      ],
    },
    {
      filename: at('packages/connectors/src/wecom/client.ts'),
      code: "import { env } from 'node:process';\nimport proc from 'process';\nimport * as p from 'node:process';\nconst a = proc.env.X;\nconst b = p.env.Y;",
      errors: [
        { messageId: 'processEnv', line: 1 },
        { messageId: 'processEnv', line: 4 },
        { messageId: 'processEnv', line: 5 },
      ],
    },
    // Paths are anchored at the repository root: a nested bench/ or tools/ folder is not exempt.
    ...['packages/server/src/bench/load.ts', 'packages/core/src/tools/x.ts', 'packages/server/src/config/load.helper.ts'].map(
      (rel) => ({ filename: at(rel), code: read, errors: [{ messageId: 'processEnv' as const }] }),
    ),
  ],
});
