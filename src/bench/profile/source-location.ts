// file:line for a profiled frame, in the TypeScript source where the compiled file has a source map
// (tsc writes dist/**/*.js.map, `sourceMap: true`): a hotspot should name src/raft/raft.ts:812,
// the line a reader opens, not dist/src/raft/raft.js:640. Node's own SourceMap class reads the map;
// no dependency. A file without a map (node_modules, node:internal) keeps its own location.

import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainLocation } from './cpu-profile.js';

/** A `locate` function for summarizeCpuProfile; source maps are read once per file. */
export function sourceMappedLocator(cwd: string = process.cwd()): (url: string, lineNumber: number, columnNumber: number) => string {
  const maps = new Map<string, SourceMap | null>();
  const mapFor = (path: string): SourceMap | null => {
    let map = maps.get(path);
    if (map === undefined) {
      map = readMap(path);
      maps.set(path, map);
    }
    return map;
  };
  return (url, lineNumber, columnNumber) => {
    if (!url.startsWith('file://') || url.includes('/node_modules/')) return plainLocation(url, lineNumber);
    const path = fileURLToPath(url);
    const entry = mapFor(path)?.findEntry(lineNumber, columnNumber);
    if (entry === undefined || !('originalSource' in entry)) return plainLocation(url, lineNumber);
    // tsc writes sources relative to the map's folder ("../../../src/raft/raft.ts").
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(path), entry.originalSource);
    const shown = relative(cwd, source);
    return `${shown.startsWith('..') ? source : shown}:${entry.originalLine + 1}`;
  };
}

function readMap(path: string): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as SourceMapPayload);
  } catch {
    return null; // no map, or not one we can read: the compiled location is still right
  }
}
