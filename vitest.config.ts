import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources of the workspace packages, so no build is needed first.
export default defineConfig({
  resolve: {
    alias: {
      '@datong/core': src('core'),
      '@datong/contracts': src('contracts'),
      '@datong/connectors': src('connectors'),
      '@datong/server': src('server'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/console/e2e/**/*.test.ts', 'tools/**/*.test.ts'],
    testTimeout: 60_000,
    // expect.poll waits for a browser page or a worker to get there; its 1 s default is too short
    // on a busy 2-core machine (a console test failed that way). Only failing waits take longer.
    expect: { poll: { timeout: 15_000, interval: 100 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // One PGlite instance takes ~0.8 GB and 2-4 s to start (FACTS.md): keep parallelism modest.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
