// Helpers for driving a single RaftNode by hand in unit tests: collect what its Readies say
// (honouring the contract: the test "persists" by doing nothing, then advances).

import { RaftNode } from '../../src/raft/raft.js';
import type { Entry, Message, NodeId, RaftRestoreState, Ready } from '../../src/raft/types.js';
import { bytes, makeConfig, type ConfigOverrides } from './cluster.js';

export interface Drained {
  readies: Ready[];
  messages: Message[];
  messagesAfterPersist: Message[];
  entries: Entry[];
  committed: Entry[];
}

/** Take every Ready the node has and advance it; returns what they held, concatenated. */
export function drain(node: RaftNode): Drained {
  const out: Drained = { readies: [], messages: [], messagesAfterPersist: [], entries: [], committed: [] };
  for (let round = 0; round < 100 && node.hasReady(); round++) {
    const ready = node.ready();
    out.readies.push(ready);
    out.messages.push(...ready.messages);
    out.messagesAfterPersist.push(...ready.messagesAfterPersist);
    out.entries.push(...ready.entries);
    out.committed.push(...ready.committedEntries);
    node.advance(ready);
  }
  return out;
}

export function allMessages(drained: Drained): Message[] {
  return [...drained.messages, ...drained.messagesAfterPersist];
}

export function newNode(id: NodeId, voters: NodeId[], overrides: ConfigOverrides = {}, restore?: RaftRestoreState): RaftNode {
  return new RaftNode(makeConfig(id, voters, overrides), restore);
}

export function entry(index: number, term: number, payload = `e${index}t${term}`): Entry {
  return { index, term, data: bytes(payload) };
}

/** Entries with the given terms at indexes 1, 2, 3, … */
export function logOfTerms(terms: number[]): Entry[] {
  return terms.map((term, position) => entry(position + 1, term));
}

/** A node restored with this log (all persisted), at `term`, nothing committed unless told. */
export function nodeWithLog(id: NodeId, voters: NodeId[], terms: number[], term: number, overrides: ConfigOverrides = {}, commit = 0): RaftNode {
  return newNode(id, voters, overrides, {
    hardState: { term, vote: 0, commit },
    snapshot: null,
    entries: logOfTerms(terms),
    applied: 0,
  });
}

export function ofType<T extends Message['type']>(messages: Message[], type: T): Extract<Message, { type: T }>[] {
  return messages.filter((message): message is Extract<Message, { type: T }> => message.type === type);
}

/** Tick until the node leaves the follower role (bounded). */
export function tickUntilCampaign(node: RaftNode, limit = 100): number {
  for (let ticks = 1; ticks <= limit; ticks++) {
    node.tick();
    if (node.status().role !== 'follower') return ticks;
  }
  throw new Error('node never campaigned');
}
