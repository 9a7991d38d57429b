#!/usr/bin/env node
// The regression gate's truth table: runs `raftbench gate` N times on each of three trees and
// counts how often it gave the right answer.
//
//   unchanged   this tree (HEAD) against --base HEAD          must be green (≥ 19 of 20)
//   slow        HEAD + mutations/gate-apply-slowdown-20.patch  must be red by timing (≥ 19 of 20)
//               (a git worktree under .gate/, against --base HEAD)
//   fsync       HEAD + mutations/gate-extra-fsync-per-write.patch, --counters-only
//                                                            must be red by fsyncsPerPut, every time
//
// The patches are applied only in those trees, never here. Build first (npm run build) and run
// on a clean tree: 'unchanged' is this working tree against HEAD.
//
// Usage: node scripts/gate-truth-table.mjs [--runs N] [--cases unchanged,slow,fsync] [--slow-patch FILE] [--keep]
//        (--slow-patch: another planted slowdown for 'slow', e.g. mutations/gate-apply-slowdown-30.patch)
//        (any other arguments after -- go to every timing gate, e.g. -- --processes 2)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASES = ['unchanged', 'slow', 'fsync'];

function usage(message) {
  console.error(`gate-truth-table: ${message}\nusage: node scripts/gate-truth-table.mjs [--runs N (1..1000)] [--cases ${CASES.join(',')}] [--slow-patch FILE] [--keep] [-- gate options]`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const dashes = argv.indexOf('--');
const own = dashes < 0 ? argv : argv.slice(0, dashes);
const gateExtra = dashes < 0 ? [] : argv.slice(dashes + 1);
let runs = 20;
let cases = CASES;
let keep = false;
let slowPatch = join(ROOT, 'mutations', 'gate-apply-slowdown-20.patch');
for (let k = 0; k < own.length; k++) {
  const arg = own[k];
  if (arg === '--runs') {
    runs = Number(own[++k]);
    if (!Number.isInteger(runs) || runs < 1 || runs > 1000) usage(`--runs must be an integer in [1, 1000], got '${own[k]}'`);
  } else if (arg === '--cases') {
    cases = (own[++k] ?? '').split(',');
    for (const name of cases) if (!CASES.includes(name)) usage(`unknown case '${name}' in --cases`);
  } else if (arg === '--slow-patch') {
    slowPatch = own[++k] ?? usage('--slow-patch needs a file');
    if (!existsSync(slowPatch)) usage(`--slow-patch: no such file '${slowPatch}'`);
    slowPatch = resolve(slowPatch);
  } else if (arg === '--keep') keep = true;
  else usage(`unknown argument '${arg}'`);
}

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(MAIN)) usage('dist/ is missing: build first (npm run build)');
const { preparePatchedTree, removePatchedTree } = await import(join(ROOT, 'dist', 'src', 'bench', 'gate', 'patched-tree.js'));

const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
if (dirty !== '') console.error(`gate-truth-table: warning: src/ has uncommitted changes, so 'unchanged' compares them with HEAD:\n${dirty}`);

const work = join(ROOT, '.gate', 'truth-table');
mkdirSync(work, { recursive: true });
const trees = { unchanged: ROOT };
const loadStart = loadavg();
const started = Date.now();
if (cases.includes('slow')) {
  console.error(`gate-truth-table: preparing the slow tree (worktree of HEAD + ${basename(slowPatch)}, compiled)…`);
  trees.slow = await preparePatchedTree({ headDir: ROOT, patchPath: slowPatch, dir: join(work, 'slow'), how: 'worktree' });
}
if (cases.includes('fsync')) {
  console.error('gate-truth-table: preparing the fsync tree (copy + gate-extra-fsync-per-write.patch)…');
  trees.fsync = await preparePatchedTree({ headDir: ROOT, patchPath: join(ROOT, 'mutations', 'gate-extra-fsync-per-write.patch'), dir: join(work, 'fsync'), how: 'copy' });
}

function gate(name, run) {
  const tree = trees[name];
  const jsonPath = join(work, `${name}-${run}.json`);
  const args = name === 'fsync'
    ? ['gate', '--counters-only', '--quiet', '--baseline', join(ROOT, 'results', 'gate-baseline.json'), '--json', jsonPath]
    : ['gate', '--base', 'HEAD', '--quiet', '--json', jsonPath, ...gateExtra];
  const begun = Date.now();
  const result = spawnSync(process.execPath, [join(tree, 'dist', 'src', 'cli', 'main.js'), ...args], { cwd: tree, encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const seconds = (Date.now() - begun) / 1000;
  let json = null;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch {
    // no JSON: the gate failed before writing it; the exit code and stderr say why
  }
  const counterProblems = json?.counters?.problems ?? [];
  const timing = json?.timing ?? null;
  let correct;
  if (name === 'unchanged') correct = result.status === 0;
  else if (name === 'slow') correct = result.status === 1 && json?.counters?.pass === true && timing?.outcome === 'regression';
  else correct = result.status === 1 && counterProblems.some((problem) => problem.includes('fsyncsPerPut moved from'));
  return {
    case: name,
    run,
    exitCode: result.status,
    correct,
    seconds,
    ratio: timing?.ratio ?? null,
    p: timing?.p ?? null,
    intervalLow: timing?.interval?.low ?? null,
    intervalHigh: timing?.interval?.high ?? null,
    outcome: timing?.outcome ?? null,
    counterProblems: counterProblems.length,
    firstProblem: counterProblems[0] ?? null,
    stderr: correct ? '' : result.stderr.trim().slice(-1500),
    load1: loadavg()[0],
  };
}

const rows = [];
for (let run = 1; run <= runs; run++) {
  for (const name of cases) {
    const row = gate(name, run);
    rows.push(row);
    const timing = row.ratio === null ? '' : ` ratio ×${row.ratio.toFixed(3)} p=${row.p.toPrecision(2)} interval ×${row.intervalLow.toFixed(3)}…×${row.intervalHigh.toFixed(3)} ${row.outcome}`;
    const counters = row.firstProblem === null ? '' : ` (${row.firstProblem})`;
    console.error(`run ${run}/${runs} ${name}: exit ${row.exitCode} ${row.correct ? 'as expected' : 'WRONG'}${timing}${counters} ${row.seconds.toFixed(0)} s, load ${row.load1.toFixed(1)}`);
    if (!row.correct && row.stderr !== '') console.error(row.stderr);
  }
}

const expected = { unchanged: 'green (exit 0)', slow: 'red by timing (exit 1)', fsync: 'red by fsyncsPerPut (exit 1)' };
const required = { unchanged: 0.95, slow: 0.95, fsync: 1 };
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
const lines = [
  `## raftbench gate truth table (${runs} run${runs === 1 ? '' : 's'} per case)`,
  '',
  '| case | expected | as expected | required | median ratio head/base (min … max) | seconds per gate (median) |',
  '| --- | --- | ---: | ---: | --- | ---: |',
];
let allMet = true;
for (const name of cases) {
  const mine = rows.filter((row) => row.case === name);
  const hits = mine.filter((row) => row.correct).length;
  const met = hits >= Math.ceil(required[name] * mine.length - 1e-9);
  allMet &&= met;
  const ratios = mine.map((row) => row.ratio).filter((ratio) => ratio !== null).sort((a, b) => a - b);
  const seconds = mine.map((row) => row.seconds).sort((a, b) => a - b);
  const ratioText = ratios.length === 0 ? '—' : `×${quantile(ratios, 0.5).toFixed(3)} (×${ratios[0].toFixed(3)} … ×${ratios[ratios.length - 1].toFixed(3)})`;
  lines.push(`| ${name} | ${expected[name]} | ${hits} / ${mine.length}${met ? '' : ' **NOT met**'} | ${required[name] === 1 ? 'all' : `≥ ${Math.round(required[name] * 100)} %`} | ${ratioText} | ${quantile(seconds, 0.5).toFixed(0)} |`);
}
const loadEnd = loadavg();
lines.push(
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end; ${((Date.now() - started) / 60_000).toFixed(1)} min in all.` +
    (cases.includes('slow') ? ` Planted slowdown: ${basename(slowPatch)}.` : '') +
    (gateExtra.length === 0 ? '' : ` Timing gates ran with: ${gateExtra.join(' ')}.`),
);
const markdown = lines.join('\n');
console.log(markdown);
mkdirSync(join(ROOT, 'results'), { recursive: true });
const out = join(ROOT, 'results', `gate-truth-table-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify({ runs, cases, loadStart, loadEnd, rows, markdown }, null, 2)}\n`);
console.error(`gate-truth-table: rows written to ${out}`);

if (!keep) for (const name of ['slow', 'fsync']) if (trees[name] !== undefined) await removePatchedTree(ROOT, trees[name]);
process.exit(allMet ? 0 : 1);
