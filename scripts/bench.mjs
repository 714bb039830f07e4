// `npm run bench`: see bench/run.mjs for the options and docs/benchmarks.md for the method.
await import('../bench/run.mjs');
