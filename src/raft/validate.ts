// Structural validation of a message arriving from the network (or a simulated one): every field
// present, of the right kind and range, entries contiguous. A malformed message is rejected with
// an error naming the field (`entries[2].index`) instead of corrupting the node's state later.
// Semantic checks that need the node's state (addressed to this node, sent by a voter) are the
// node's own (raft.ts).

import { MessageValidationError } from './errors.js';
import type { Message, MessageType } from './types.js';

type Fields = Record<string, unknown>;

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  'PreVote',
  'PreVoteResponse',
  'Vote',
  'VoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'InstallSnapshot',
  'InstallSnapshotResponse',
  'TimeoutNow',
  'ReadIndex',
  'ReadIndexResponse',
]);

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireCount(fields: Fields, name: string, path: string = name): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MessageValidationError(path, `must be a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

function requireNodeId(fields: Fields, name: string, path: string = name): number {
  const value = fields[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new MessageValidationError(path, `must be a positive safe integer node id, got ${describe(value)}`);
  }
  return value;
}

function requireBoolean(fields: Fields, name: string): void {
  if (typeof fields[name] !== 'boolean') {
    throw new MessageValidationError(name, `must be a boolean, got ${describe(fields[name])}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a byte array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function validateEntries(fields: Fields, prevLogIndex: number, prevLogTerm: number, messageTerm: number): void {
  const entries = fields['entries'];
  if (!Array.isArray(entries)) throw new MessageValidationError('entries', `must be an array, got ${describe(entries)}`);
  // The hot path of every follower: no strings are built unless an entry is bad.
  let previousTerm = prevLogTerm;
  for (let position = 0; position < entries.length; position++) {
    const entry: unknown = entries[position];
    if (!isRecord(entry)) throw new MessageValidationError(`entries[${position}]`, `must be an object, got ${describe(entry)}`);
    const index = entry['index'];
    const term = entry['term'];
    if (index !== prevLogIndex + 1 + position) {
      requireCount(entry, 'index', `entries[${position}].index`);
      throw new MessageValidationError(
        `entries[${position}].index`,
        `must be ${prevLogIndex + 1 + position} (contiguous after prevLogIndex ${prevLogIndex}), got ${String(index)}`,
      );
    }
    if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < previousTerm || term > messageTerm) {
      const path = `entries[${position}].term`;
      requireCount(entry, 'term', path);
      if ((term as number) < previousTerm) throw new MessageValidationError(path, `terms must not decrease: ${String(term)} after ${previousTerm}`);
      throw new MessageValidationError(path, `entry term ${String(term)} above the message term ${messageTerm}`);
    }
    if (!(entry['data'] instanceof Uint8Array)) {
      throw new MessageValidationError(`entries[${position}].data`, `must be a Uint8Array, got ${describe(entry['data'])}`);
    }
    previousTerm = term;
  }
}

function validateSnapshotMeta(fields: Fields): void {
  const snapshot = fields['snapshot'];
  if (!isRecord(snapshot)) throw new MessageValidationError('snapshot', `must be an object, got ${describe(snapshot)}`);
  const index = requireCount(snapshot, 'index', 'snapshot.index');
  const term = requireCount(snapshot, 'term', 'snapshot.term');
  if (index === 0 || term === 0) throw new MessageValidationError(index === 0 ? 'snapshot.index' : 'snapshot.term', 'a sent snapshot must cover at least one entry');
  const config = snapshot['config'];
  if (!isRecord(config)) throw new MessageValidationError('snapshot.config', `must be an object, got ${describe(config)}`);
  const voters = config['voters'];
  if (!Array.isArray(voters) || voters.length === 0) {
    throw new MessageValidationError('snapshot.config.voters', `must be a non-empty array, got ${describe(voters)}`);
  }
  for (let position = 0; position < voters.length; position++) {
    const voter: unknown = voters[position];
    if (typeof voter !== 'number' || !Number.isSafeInteger(voter) || voter < 1) {
      throw new MessageValidationError(`snapshot.config.voters[${position}]`, `must be a positive safe integer node id, got ${describe(voter)}`);
    }
  }
}

/** Checks the shape of `candidate` and returns it typed as a Message; throws MessageValidationError naming the bad field. */
export function validateMessage(candidate: unknown): Message {
  if (!isRecord(candidate)) throw new MessageValidationError('message', `must be an object, got ${describe(candidate)}`);
  const type = candidate['type'];
  if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) {
    throw new MessageValidationError('type', `unknown message type ${describe(type)}`);
  }
  requireNodeId(candidate, 'from');
  requireNodeId(candidate, 'to');
  const term = requireCount(candidate, 'term');
  const messageType = type as MessageType;
  switch (messageType) {
    case 'PreVote':
    case 'Vote': {
      const lastLogIndex = requireCount(candidate, 'lastLogIndex');
      const lastLogTerm = requireCount(candidate, 'lastLogTerm');
      if (lastLogTerm > term) throw new MessageValidationError('lastLogTerm', `above the message term ${term}`);
      if (lastLogIndex === 0 && lastLogTerm !== 0) throw new MessageValidationError('lastLogTerm', 'must be 0 for an empty log');
      if (messageType === 'Vote') requireBoolean(candidate, 'transfer');
      break;
    }
    case 'PreVoteResponse':
    case 'VoteResponse':
      requireBoolean(candidate, 'granted');
      break;
    case 'AppendEntries': {
      const prevLogIndex = requireCount(candidate, 'prevLogIndex');
      const prevLogTerm = requireCount(candidate, 'prevLogTerm');
      if (prevLogTerm > term) throw new MessageValidationError('prevLogTerm', `above the message term ${term}`);
      if (prevLogIndex === 0 && prevLogTerm !== 0) throw new MessageValidationError('prevLogTerm', 'must be 0 when prevLogIndex is 0');
      requireCount(candidate, 'commit');
      validateEntries(candidate, prevLogIndex, prevLogTerm, term);
      // Index arithmetic is exact only below 2^53: the last entry's index must stay a safe integer.
      if (prevLogIndex + (candidate['entries'] as unknown[]).length > Number.MAX_SAFE_INTEGER) {
        throw new MessageValidationError('entries', `the last entry's index would pass 2^53 − 1 (prevLogIndex ${prevLogIndex})`);
      }
      break;
    }
    case 'AppendEntriesResponse':
      requireBoolean(candidate, 'success');
      requireCount(candidate, 'matchIndex');
      requireCount(candidate, 'hintIndex');
      requireCount(candidate, 'hintTerm');
      break;
    case 'Heartbeat':
      requireCount(candidate, 'commit');
      requireCount(candidate, 'round');
      break;
    case 'HeartbeatResponse':
      requireCount(candidate, 'round');
      break;
    case 'ReadIndex':
      requireCount(candidate, 'context');
      break;
    case 'ReadIndexResponse':
      requireCount(candidate, 'context');
      requireCount(candidate, 'index');
      requireBoolean(candidate, 'success');
      break;
    case 'InstallSnapshot':
      validateSnapshotMeta(candidate);
      break;
    case 'InstallSnapshotResponse':
      requireBoolean(candidate, 'success');
      requireCount(candidate, 'matchIndex');
      break;
    case 'TimeoutNow':
      break;
  }
  return candidate as unknown as Message;
}

