#!/usr/bin/env node
// Writes docs/errors.md from the catalog in src/errors.ts, so that the two cannot drift
// (test/errors.test.ts checks them). Run: npm run docs:errors
import { readFileSync, writeFileSync } from 'node:fs';

const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
const block = source.slice(source.indexOf('ERROR_CODES = {'), source.indexOf('} as const'));
const rows = [];
let group = '';
for (const line of block.split('\n')) {
  const heading = /^\s*\/\/ (.*)/.exec(line);
  if (heading) group = heading[1];
  const entry = /^\s*([A-Z_0-9]+): (\d+),/.exec(line);
  if (entry) rows.push(`| \`${entry[1]}\` | ${entry[2]} | ${group} |`);
}
const doc = `# Error codes

Every failure Homeport reports carries one of these codes: in the API envelope as
\`{"success": false, "code": "…", "message": "…"}\`, and in the answers of the Bootstrap and
Content Servers. Codes are stable and never reused; the catalog is \`src/errors.ts\`, and this
page is generated from it by \`npm run docs:errors\`.

| code | HTTP status | group |
| --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), doc);
