// Reading and writing results files. Loading checks the schema version before anything else, so a
// file from another version is refused by name rather than misread, and a damaged one names the
// path of the bad field.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatIssues } from '../../schema/issues.js';
import { RUN_SCHEMA, RunFileSchema, type RunFile } from './schema.js';

export class ResultsFileError extends Error {
  override readonly name = 'ResultsFileError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `${file}: ${problem}`).join('\n'));
  }
}

export function parseRunFile(text: string, file: string): RunFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultsFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const schema = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['schema'] : undefined;
  if (schema !== RUN_SCHEMA) {
    throw new ResultsFileError(file, [
      schema === undefined ? `not a raftbench results file (no "schema" field; expected "${RUN_SCHEMA}")` : `schema ${JSON.stringify(schema)} is not supported: this build reads "${RUN_SCHEMA}"`,
    ]);
  }
  const parsed = RunFileSchema.safeParse(json);
  if (!parsed.success) throw new ResultsFileError(file, formatIssues(parsed.error.issues, json));
  return parsed.data;
}

export function loadRunFile(file: string): RunFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ResultsFileError(file, [`cannot read: ${(error as Error).message}`]);
  }
  return parseRunFile(text, file);
}

export function writeRunFile(file: string, run: RunFile): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(run, null, 1)}\n`);
}
