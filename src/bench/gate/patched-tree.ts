// A planted bug for proving the gate, never in the product: the head's code with one patch from
// mutations/ applied, in a directory of its own, compiled.
// - 'copy' (the test suite): the working tree's src/ and its compiled dist/src/ (uncommitted
//   changes included; build first) copied, the patch applied, and only the files it touches
//   transpiled again — seconds, where compiling all of src/ takes a minute on a busy machine.
// - 'worktree' (scripts/gate-truth-table.mjs): HEAD checked out in a git worktree, patched and
//   compiled whole, so `raftbench gate --base HEAD` run inside it compares the patched code with
//   the clean commit.

import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runOrThrow } from './shell.js';
import { pathToFileURL } from 'node:url';

export interface PatchedTreeOptions {
  readonly headDir: string;
  readonly patchPath: string;
  readonly dir: string;
  readonly how: 'copy' | 'worktree';
}


/**
 * Compiles src/ of `dir` with the TypeScript in `toolsDir`/node_modules (tsconfig.gate.json: src
 * only, no incremental state) and without type checking (`--noCheck`): the gate needs the
 * JavaScript, and the commit was type-checked by its own CI; emitting alone is several times
 * faster on a busy machine.
 */
export async function compileSources(dir: string, toolsDir: string): Promise<void> {
  await writeFile(join(dir, 'tsconfig.gate.json'), `${JSON.stringify({ extends: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { incremental: false, sourceMap: false } })}\n`);
  runOrThrow(process.execPath, [join(toolsDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.gate.json', '--noCheck'], dir);
}

export async function preparePatchedTree(options: PatchedTreeOptions): Promise<string> {
  const { headDir, patchPath, dir } = options;
  await removePatchedTree(headDir, dir);
  if (options.how === 'worktree') {
    runOrThrow('git', ['worktree', 'add', '--detach', '--force', dir, 'HEAD'], headDir);
  } else {
    await mkdir(dir, { recursive: true });
    await cp(join(headDir, 'src'), join(dir, 'src'), { recursive: true });
    await cp(join(headDir, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
    for (const file of ['tsconfig.json', 'package.json']) await cp(join(headDir, file), join(dir, file));
  }
  // `git apply` works outside a repository too (as a plain patch tool) — but inside one (a copy
  // under .gate/) it would patch nothing outside the subdirectory it runs in, silently; the
  // ceiling stops it from looking above `dir`. Then check that every file changed.
  const sources = await patchedSources(patchPath);
  const before = await Promise.all(sources.map((file) => readFile(join(dir, file), 'utf8')));
  runOrThrow('git', ['apply', '--whitespace=nowarn', patchPath], dir, { GIT_CEILING_DIRECTORIES: dirname(dir) });
  for (const [k, file] of sources.entries()) {
    if ((await readFile(join(dir, file), 'utf8')) === before[k]) throw new Error(`${patchPath}: applied in ${dir}, but ${file} did not change`);
  }
  await symlink(join(headDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (options.how === 'worktree') await compileSources(dir, headDir);
  else await transpileFiles(dir, headDir, sources);
  return dir;
}

/** The src/ TypeScript files a patch changes (its `+++ b/…` lines). */
async function patchedSources(patchPath: string): Promise<string[]> {
  const text = await readFile(patchPath, 'utf8');
  const files = [...text.matchAll(/^\+\+\+ b\/(src\/\S+\.ts)$/gm)].map((match) => match[1]!);
  if (files.length === 0) throw new Error(`${patchPath}: changes no file under src/`);
  return files;
}

/** Transpiles `files` (paths under `dir`) into dir/dist with the head's TypeScript, one file at a time (no type check). */
async function transpileFiles(dir: string, toolsDir: string, files: readonly string[]): Promise<void> {
  // TypeScript is a development dependency: loaded only here, for tests and the truth table.
  const ts = (await import(pathToFileURL(join(toolsDir, 'node_modules', 'typescript', 'lib', 'typescript.js')).href)).default as typeof import('typescript');
  for (const file of files) {
    const output = ts.transpileModule(await readFile(join(dir, file), 'utf8'), {
      // ES modules, as tsconfig.json's NodeNext emits them for this "type": "module" package (transpileModule cannot see package.json).
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
      fileName: file,
      reportDiagnostics: false,
    });
    await writeFile(join(dir, 'dist', file.replace(/\.ts$/, '.js')), output.outputText);
  }
}

export async function removePatchedTree(headDir: string, dir: string): Promise<void> {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: headDir, timeout: 60_000, stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
  spawnSync('git', ['worktree', 'prune'], { cwd: headDir, timeout: 60_000, stdio: 'ignore' });
}
