#!/usr/bin/env node
// Runs the compiled test suite with Node's own test runner.
//
// Why not `node --test dist/test/`: Node 20's runner treats *every* .js file below a folder named
// `test` as a test file, so helper scripts (crash children, worker scripts, shared contract
// suites) would run as tests of their own. Only `*.test.js` files are tests here.
//
// Usage: node scripts/run-tests.mjs [SUBSTRING …]   (only files whose path contains a substring)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = 'dist/test';
if (!existsSync(root)) {
  console.error(`run-tests: ${root} does not exist; build first (npm run build)`);
  process.exit(2);
}
const filters = process.argv.slice(2);
const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.test.js'))
  .map((path) => join(root, path))
  .filter((path) => filters.length === 0 || filters.some((filter) => path.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`run-tests: no test files under ${root} match ${filters.join(', ') || '*.test.js'}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
