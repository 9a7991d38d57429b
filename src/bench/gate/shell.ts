// Runs the few commands the gate needs (git, npm, tsc) synchronously, with a bound on time, and
// turns a failure into an error that carries the command, where it ran and the tail of its output.

import { spawnSync } from 'node:child_process';

const COMMAND_TIMEOUT_MS = 10 * 60_000;
const OUTPUT_TAIL_CHARS = 2_000;

/** Runs `command args` in `cwd` (extra environment in `env`) and returns its stdout; throws on failure. */
export function runOrThrow(command: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  if (result.error !== undefined) throw new Error(`${command} ${args.join(' ')} (in ${cwd}): ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${result.status ?? result.signal}: ${(result.stderr || result.stdout).trim().slice(-OUTPUT_TAIL_CHARS)}`);
  }
  return result.stdout;
}
