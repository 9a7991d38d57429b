#!/usr/bin/env node
// Finds the system Chromium the HTML report's browser test drives (Debian's `chromium` package;
// playwright-core uses it and never downloads a browser of its own, which cannot work here), and
// prints its path on standard output.
//
// When it is missing: under CI (CI=true) as root it installs the package (apt-get update, then
// apt-get install -y chromium, each with a time limit), because CI runs only `npm ci && npm test`
// and nothing else could install it; anywhere else it exits 1 with the command to run, since
// installing system packages on a developer's machine is the developer's call.
//
// Usage: node scripts/ensure-chromium.mjs   (RAFTBENCH_CHROMIUM=/path/to/chromium to use another)
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];
const UPDATE_TIMEOUT_MS = 5 * 60_000;
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const HOW_TO_INSTALL = 'install Debian\'s chromium package: sudo apt-get update && sudo apt-get install -y chromium (or set RAFTBENCH_CHROMIUM to a Chromium binary)';

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findChromium() {
  const chosen = process.env.RAFTBENCH_CHROMIUM;
  if (chosen !== undefined && chosen !== '') {
    if (executable(chosen)) return chosen;
    console.error(`ensure-chromium: RAFTBENCH_CHROMIUM=${chosen} is not an executable file`);
    process.exit(1);
  }
  return CANDIDATES.find(executable) ?? null;
}

function run(command, args, timeoutMs) {
  console.error(`ensure-chromium: ${command} ${args.join(' ')}`);
  // Output goes to stderr: stdout carries only the path.
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], timeout: timeoutMs, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.error !== undefined) return `${command} failed: ${result.error.message}`;
  if (result.signal !== null) return `${command} was stopped by ${result.signal} (time limit ${timeoutMs / 1000} s)`;
  if (result.status !== 0) return `${command} exited with ${result.status}`;
  return null;
}

let found = findChromium();
if (found === null) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (process.env.CI !== 'true' || !root) {
    console.error(`ensure-chromium: Chromium is not installed; the HTML report's browser test needs it: ${HOW_TO_INSTALL}`);
    process.exit(1);
  }
  const problem = run('apt-get', ['update'], UPDATE_TIMEOUT_MS) ?? run('apt-get', ['install', '-y', 'chromium'], INSTALL_TIMEOUT_MS);
  found = findChromium();
  if (found === null) {
    console.error(`ensure-chromium: installing Chromium failed (${problem ?? 'no binary afterwards'}); ${HOW_TO_INSTALL}`);
    process.exit(1);
  }
}
process.stdout.write(`${found}\n`);
