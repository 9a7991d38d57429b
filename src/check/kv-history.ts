// A client history of key-value operations, as the linearizability checker takes it: one
// operation per client request, with its invocation and response times and what it returned.
// Keys and values are strings at this boundary (a recorder of binary keys passes hex or unique
// tags): the checker only ever compares them for equality, and strings make failures readable.
//
// The subtle thing: an operation whose response never came (`returnUs: null`, `output: null`)
// is not an error but a fact of distributed life — a timed-out request may or may not have taken
// effect. Such operations are legal input; the checker lets them take effect at any point after
// their call, or never.
//
// Times are microseconds on one clock shared by all clients (the simulation's clock, or a real
// cluster's recorder). An operation that returns at the same instant another is invoked counts
// as concurrent with it: the checker never assumes an order the clock cannot prove.

export interface PutInput {
  readonly type: 'put';
  readonly key: string;
  readonly value: string;
}
export interface GetInput {
  readonly type: 'get';
  readonly key: string;
}
export interface DeleteInput {
  readonly type: 'delete';
  readonly key: string;
}
/** `expectedVersion` 0 means "the key must not exist". */
export interface CasInput {
  readonly type: 'cas';
  readonly key: string;
  readonly expectedVersion: number;
  readonly value: string;
}
export type KvInput = PutInput | GetInput | DeleteInput | CasInput;

/** `version` is the log index the write got. */
export interface PutOutput {
  readonly version: number;
}
export type GetOutput = { readonly found: false } | { readonly found: true; readonly value: string; readonly version: number };
/** `deleted: false`: the key was absent. `version` (the delete's log index) when the recorder knows it. */
export type DeleteOutput = { readonly deleted: false } | { readonly deleted: true; readonly version?: number };
/** A mismatch reports the key's version at that moment (0: the key did not exist). */
export type CasOutput = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly currentVersion: number };

interface Invocation<Input> {
  readonly clientId: number;
  /** When the client sent the request (µs). */
  readonly callUs: number;
  readonly input: Input;
}
/** Either a response came (at `returnUs`, saying `output`) or it never did (both null). */
type Outcome<Output> = { readonly returnUs: number; readonly output: Output } | { readonly returnUs: null; readonly output: null };

export type PutOperation = Invocation<PutInput> & Outcome<PutOutput>;
export type GetOperation = Invocation<GetInput> & Outcome<GetOutput>;
export type DeleteOperation = Invocation<DeleteInput> & Outcome<DeleteOutput>;
export type CasOperation = Invocation<CasInput> & Outcome<CasOutput>;
export type Operation = PutOperation | GetOperation | DeleteOperation | CasOperation;

/** One operation of a history, checked: its position in the history and its parts, narrowed. */
export type CheckedOperation = { readonly index: number; readonly source: Operation } & (
  | { readonly type: 'put'; readonly input: PutInput; readonly output: PutOutput | null }
  | { readonly type: 'get'; readonly input: GetInput; readonly output: GetOutput | null }
  | { readonly type: 'delete'; readonly input: DeleteInput; readonly output: DeleteOutput | null }
  | { readonly type: 'cas'; readonly input: CasInput; readonly output: CasOutput | null }
);

/** A malformed history: `field` is the path of the bad field (`history[12].output.version`). */
export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`malformed history: ${field}: ${reason}`);
  }
}

type Fields = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function objectAt(value: unknown, field: string): Fields {
  if (!isObject(value)) throw new HistoryFormatError(field, `expected an object, got ${shown(value)}`);
  return value;
}

function stringAt(fields: Fields, name: string, path: string): string {
  const value = fields[name];
  if (typeof value !== 'string') throw new HistoryFormatError(`${path}.${name}`, `expected a string, got ${shown(value)}`);
  return value;
}

/** Versions are log indexes: safe integers, ≥ 1 for a write, ≥ 0 where 0 means "absent". */
function versionAt(fields: Fields, name: string, path: string, minimum: 0 | 1): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new HistoryFormatError(`${path}.${name}`, `expected an integer ≥ ${minimum}, got ${shown(value)}`);
  }
  return value;
}

function booleanAt(fields: Fields, name: string, path: string): boolean {
  const value = fields[name];
  if (typeof value !== 'boolean') throw new HistoryFormatError(`${path}.${name}`, `expected true or false, got ${shown(value)}`);
  return value;
}

function timeAt(fields: Fields, name: string, path: string): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HistoryFormatError(`${path}.${name}`, `expected a finite time in µs, got ${shown(value)}`);
  }
  return value;
}

function checkInput(fields: Fields, path: string): KvInput {
  const type = fields['type'];
  const key = stringAt(fields, 'key', path);
  switch (type) {
    case 'put':
      return { type, key, value: stringAt(fields, 'value', path) };
    case 'get':
    case 'delete':
      return { type, key };
    case 'cas':
      return { type, key, expectedVersion: versionAt(fields, 'expectedVersion', path, 0), value: stringAt(fields, 'value', path) };
    default:
      throw new HistoryFormatError(`${path}.type`, `expected 'put', 'get', 'delete' or 'cas', got ${shown(type)}`);
  }
}

/**
 * Checks one operation of a history (which may come from JSON, so nothing is trusted) and
 * narrows it. Throws HistoryFormatError naming the first bad field.
 */
export function checkOperation(operation: Operation, index: number): CheckedOperation {
  const path = `history[${index}]`;
  const fields = objectAt(operation, path);
  const clientId = fields['clientId'];
  if (typeof clientId !== 'number' || !Number.isSafeInteger(clientId)) {
    throw new HistoryFormatError(`${path}.clientId`, `expected an integer, got ${shown(clientId)}`);
  }
  const callUs = timeAt(fields, 'callUs', path);
  const input = checkInput(objectAt(fields['input'], `${path}.input`), `${path}.input`);
  if (fields['returnUs'] === null || fields['output'] === null) {
    if (fields['returnUs'] !== null) {
      throw new HistoryFormatError(`${path}.output`, 'is null (no response) but returnUs is not: both must be null together');
    }
    if (fields['output'] !== null) {
      throw new HistoryFormatError(`${path}.returnUs`, 'is null (no response) but output is not: both must be null together');
    }
    switch (input.type) {
      case 'put':
        return { index, source: operation, type: 'put', input, output: null };
      case 'get':
        return { index, source: operation, type: 'get', input, output: null };
      case 'delete':
        return { index, source: operation, type: 'delete', input, output: null };
      case 'cas':
        return { index, source: operation, type: 'cas', input, output: null };
    }
  }
  const returnUs = timeAt(fields, 'returnUs', path);
  if (returnUs < callUs) {
    throw new HistoryFormatError(`${path}.returnUs`, `the response (${returnUs} µs) precedes the call (${callUs} µs)`);
  }
  const outputPath = `${path}.output`;
  const output = objectAt(fields['output'], outputPath);
  switch (input.type) {
    case 'put':
      return { index, source: operation, type: 'put', input, output: { version: versionAt(output, 'version', outputPath, 1) } };
    case 'get':
      return {
        index,
        source: operation,
        type: 'get',
        input,
        output: booleanAt(output, 'found', outputPath)
          ? { found: true, value: stringAt(output, 'value', outputPath), version: versionAt(output, 'version', outputPath, 1) }
          : { found: false },
      };
    case 'delete': {
      if (!booleanAt(output, 'deleted', outputPath)) return { index, source: operation, type: 'delete', input, output: { deleted: false } };
      const version = output['version'] === undefined ? undefined : versionAt(output, 'version', outputPath, 1);
      return { index, source: operation, type: 'delete', input, output: version === undefined ? { deleted: true } : { deleted: true, version } };
    }
    case 'cas':
      return {
        index,
        source: operation,
        type: 'cas',
        input,
        output: booleanAt(output, 'ok', outputPath)
          ? { ok: true, version: versionAt(output, 'version', outputPath, 1) }
          : { ok: false, currentVersion: versionAt(output, 'currentVersion', outputPath, 0) },
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Printing. Times in ms (the simulation's clock ticks in µs, people think in ms).

const SHOWN_CHARS_MAX = 40;

/** Microseconds as milliseconds: at least one decimal, at most three (µs), no trailing zeros. */
export function formatMs(timeUs: number): string {
  const fixed = (timeUs / 1000).toFixed(3).replace(/0{1,2}$/, '');
  return fixed;
}

function quoted(text: string): string {
  const json = JSON.stringify(text);
  return json.length <= SHOWN_CHARS_MAX ? json : `${json.slice(0, SHOWN_CHARS_MAX - 2)}…"`;
}

/** Keys that read unambiguously bare are shown bare; anything else quoted. */
export function formatKey(key: string): string {
  return /^[\w.:/-]{1,40}$/.test(key) ? key : quoted(key);
}

export function formatValue(value: string): string {
  return quoted(value);
}

function formatInput(input: KvInput): string {
  const key = formatKey(input.key);
  switch (input.type) {
    case 'put':
      return `put(${key}, ${formatValue(input.value)})`;
    case 'get':
      return `get(${key})`;
    case 'delete':
      return `delete(${key})`;
    case 'cas':
      return `cas(${key}, expect v${input.expectedVersion}, ${formatValue(input.value)})`;
  }
}

function formatOutput(operation: Operation): string {
  // checkOperation narrows the output through the input's type, which TypeScript cannot do alone.
  const checked = checkOperation(operation, 0);
  if (checked.output === null) return 'no response (outcome unknown)';
  switch (checked.type) {
    case 'put':
      return `ok v${checked.output.version}`;
    case 'get':
      return checked.output.found ? `${formatValue(checked.output.value)} v${checked.output.version}` : 'not found';
    case 'delete':
      if (!checked.output.deleted) return 'absent';
      return checked.output.version === undefined ? 'deleted' : `deleted v${checked.output.version}`;
    case 'cas':
      return checked.output.ok ? `ok v${checked.output.version}` : `mismatch, current v${checked.output.currentVersion}`;
  }
}

/** "put(k, "a") → ok v3": the request and its answer, without client or times. */
export function describeRequest(operation: Operation): string {
  return `${formatInput(operation.input)} → ${formatOutput(operation)}`;
}

/** "put(k, "a") → ok v3 [client 2, 1.5–2.25 ms]": one operation on one line. */
export function describeOperation(operation: Operation): string {
  return `${describeRequest(operation)} [client ${operation.clientId}, ${formatInterval(operation)}]`;
}

function formatInterval(operation: Operation): string {
  return operation.returnUs === null
    ? `${formatMs(operation.callUs)} ms–no response`
    : `${formatMs(operation.callUs)}–${formatMs(operation.returnUs)} ms`;
}

/**
 * A history as an aligned table, in call order: number, client, call and return (ms), request
 * and answer. Numbers count from 1 in the order shown, so an explanation can refer to "#3".
 */
export function formatHistory(history: readonly Operation[]): string {
  const ordered = [...history].sort((a, b) => a.callUs - b.callUs);
  const rows = ordered.map((operation, position) => [
    `#${position + 1}`,
    `client ${operation.clientId}`,
    formatMs(operation.callUs),
    operation.returnUs === null ? '—' : formatMs(operation.returnUs),
    describeRequest(operation),
  ]);
  const header = ['', 'client', 'call ms', 'return ms', 'operation → answer'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : column >= 2 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
