// The base side of the timing leg: the base commit checked out in a git worktree beside the head
// (`<head>/.gate/base-<sha>`, git-ignored) and compiled. node_modules is a symlink to the head's
// when package-lock.json is the same in both (the usual pull request), otherwise `npm ci` installs
// the base's own. Only src/ is compiled (tsconfig.gate.json extends the base's tsconfig), which
// is all the timing worker loads. A built tree is reused while its marker names the same commit,
// so repeated gates (the truth table) build each base once.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOrThrow } from './shell.js';
import { compileSources } from './patched-tree.js';

export interface BaseTree {
  readonly dir: string;
  readonly sha: string;
  readonly reused: boolean;
  readonly nodeModules: 'symlink' | 'npm ci' | 'reused';
}

/** A git ref that does not name a commit: the caller's mistake (exit 2), not a failed gate. */
export class BaseRefError extends Error {
  override readonly name = 'BaseRefError';
}

const BUILT_MARKER = '.gate-built';

/** The commit `ref` names in the repository at `headDir`. */
export function resolveCommit(headDir: string, ref: string): string {
  const result = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: headDir, encoding: 'utf8', timeout: 30_000 });
  const sha = result.stdout?.trim() ?? '';
  if (result.status !== 0 || !/^[0-9a-f]{40}$/.test(sha)) {
    throw new BaseRefError(`--base: '${ref}' does not name a commit in ${headDir} (in CI, check out with fetch-depth: 0 so the base branch is there)`);
  }
  return sha;
}

async function sameLockFile(headDir: string, dir: string): Promise<boolean> {
  const headLock = join(headDir, 'package-lock.json');
  const baseLock = join(dir, 'package-lock.json');
  if (!existsSync(headLock) || !existsSync(baseLock)) return false;
  return (await readFile(headLock, 'utf8')) === (await readFile(baseLock, 'utf8'));
}

/** Checks out and builds `ref` beside the head at `headDir` (the root of its repository). */
export async function prepareBaseTree(headDir: string, ref: string, log: (line: string) => void): Promise<BaseTree> {
  const sha = resolveCommit(headDir, ref);
  const dir = join(headDir, '.gate', `base-${sha.slice(0, 12)}`);
  const marker = join(dir, 'dist', BUILT_MARKER);
  if (existsSync(marker) && (await readFile(marker, 'utf8')).trim() === sha) return { dir, sha, reused: true, nodeModules: 'reused' };

  log(`gate: checking out ${ref} (${sha.slice(0, 12)}) in ${dir}`);
  await mkdir(join(headDir, '.gate'), { recursive: true });
  // One base tree at a time: the ones of earlier bases (and a half-built one of this) go.
  for (const name of await readdir(join(headDir, '.gate'))) {
    if (!name.startsWith('base-')) continue;
    spawnSync('git', ['worktree', 'remove', '--force', join(headDir, '.gate', name)], { cwd: headDir, timeout: 60_000 });
    await rm(join(headDir, '.gate', name), { recursive: true, force: true });
  }
  runOrThrow('git', ['worktree', 'prune'], headDir);
  runOrThrow('git', ['worktree', 'add', '--detach', '--force', dir, sha], headDir);

  let nodeModules: BaseTree['nodeModules'];
  if ((await sameLockFile(headDir, dir)) && existsSync(join(headDir, 'node_modules'))) {
    await symlink(join(headDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
    nodeModules = 'symlink';
  } else {
    log('gate: package-lock.json differs from the head: npm ci in the base tree');
    runOrThrow('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
    nodeModules = 'npm ci';
  }

  log(`gate: compiling the base (src/ only)`);
  await compileSources(dir, dir);
  await writeFile(marker, `${sha}\n`);
  return { dir, sha, reused: false, nodeModules };
}
