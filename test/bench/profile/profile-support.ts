// What the profile command tests share: the short run's arguments and readers of the printed
// hotspot text (the rows that name raftbench functions, the layer rollup) and of the report folder.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LAYERS } from '../../../src/bench/profile/cpu-profile.js';

export const SHORT = ['profile', '--profile', 'all-on', '--workload', 'writes-64', '--duration', '2', '--warmup', '0.5', '--records', '2000', '--top', '30'];

/** The hotspot rows that name a raftbench function: layer src/…, a name, a src/…/*.ts:line location. */
export function raftbenchHotspots(text: string): string[] {
  return text.split('\n').filter((line) => /^\s*[\d ]+\s+\d+\.\d\s+\d+\.\d\s+src\/\w+\s+\S+\s+src\/[\w/-]+\.ts:\d+$/.test(line));
}

/** The layer rollup table: layer → [self %, by caller %], and the printed total row. */
export function layerRollup(text: string): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  const start = text.split('\n').findIndex((line) => /^layer\s+self ms\s+self %\s+by caller %$/.test(line));
  assert.ok(start >= 0, `no layer table in:\n${text}`);
  for (const line of text.split('\n').slice(start + 1)) {
    const match = /^(.+?)\s+[\d ]+\s+(\d+\.\d)\s+(\d+\.\d)$/.exec(line);
    if (match === null) break;
    rows.set(match[1]!.trim(), [Number(match[2]), Number(match[3])]);
  }
  return rows;
}

/** Each row is rounded to 0.1 %, so twelve rows may miss 100 by up to 0.6. */
export function assertSumsToHundred(rows: Map<string, [number, number]>): void {
  assert.deepEqual([...rows.keys()], [...LAYERS, 'total'], 'every layer once, in order, then the total');
  for (const column of [0, 1] as const) {
    const sum = LAYERS.reduce((total, layer) => total + rows.get(layer)![column], 0);
    assert.ok(Math.abs(sum - 100) <= 0.65, `the ${column === 0 ? 'self' : 'by caller'} column sums to ${sum.toFixed(1)} %, not ~100 %`);
  }
}

export function onlyReportFolder(root: string): string {
  const folders = readdirSync(root);
  assert.equal(folders.length, 1, `one report folder: ${folders.join(', ')}`);
  assert.match(folders[0]!, /^\d{4}-\d\d-\d\dT[\d-]+Z-all-on-writes-64-(cpu-prof|flame)$/);
  return join(root, folders[0]!);
}

