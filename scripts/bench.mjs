// `npm run bench`: see bench/run.mjs for the options and docs/benchmarks.md for the method.
// `npm run bench -- console` (or BENCH_ONLY=console): the web console benchmark, bench/console.mjs.
const only = process.argv[2] ?? process.env.BENCH_ONLY;
if (only === 'console') await import('../bench/console.mjs');
else if (only === undefined || only === '') await import('../bench/run.mjs');
else throw new Error(`Unknown benchmark "${only}": leave it out for the main one, or use console`);
