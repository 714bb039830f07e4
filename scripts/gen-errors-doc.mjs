// Generates the table of docs/errors.md from the error catalog. Run: node scripts/gen-errors-doc.mjs
// (after `npm run build`). catalog.test.ts fails when the document and the catalog disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { ERROR_CATALOG } = await import(`${root}packages/core/dist/errors/catalog.js`);
const { KIND_HTTP_STATUS: STATUS } = await import(`${root}packages/server/dist/http/problem.js`);
const file = `${root}docs/errors.md`;
const doc = readFileSync(file, 'utf8');
const start = '<!-- catalog:start -->';
const end = '<!-- catalog:end -->';
const rows = Object.entries(ERROR_CATALOG).map(
  ([code, spec]) => `| <a id="${code}"></a>\`${code}\` | ${STATUS[spec.kind]} | ${spec.title} | ${spec.transient ? 'yes' : 'no'} |`,
);
const table = ['| code | HTTP | title | retry can help |', '|---|---|---|---|', ...rows].join('\n');
const out = doc.slice(0, doc.indexOf(start) + start.length) + '\n' + table + '\n' + doc.slice(doc.indexOf(end));
writeFileSync(file, out);
