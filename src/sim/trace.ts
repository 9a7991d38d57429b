// The simulation's event trace: a digest over every event (so two runs of one seed can be proven
// identical) and a bounded ring of the most recent events, formatted only when a run fails or a
// verbose replay asks for it.

import type { Message, NodeId } from '../raft/types.js';

export type TraceRecord =
  | { readonly kind: 'deliver'; readonly timeUs: number; readonly message: Message }
  | { readonly kind: 'send'; readonly timeUs: number; readonly message: Message; readonly copies: number; readonly afterPersist: boolean }
  | { readonly kind: 'tick'; readonly timeUs: number; readonly node: NodeId }
  | { readonly kind: 'synced'; readonly timeUs: number; readonly node: NodeId; readonly applied: number }
  | { readonly kind: 'note'; readonly timeUs: number; readonly node: NodeId; readonly text: string };

const MESSAGE_TYPE_CODES: Record<Message['type'], number> = {
  PreVote: 1,
  PreVoteResponse: 2,
  Vote: 3,
  VoteResponse: 4,
  AppendEntries: 5,
  AppendEntriesResponse: 6,
  Heartbeat: 7,
  HeartbeatResponse: 8,
  InstallSnapshot: 9,
  InstallSnapshotResponse: 10,
  TimeoutNow: 11,
  ReadIndex: 12,
  ReadIndexResponse: 13,
};

export function formatMessage(message: Message): string {
  const head = `${message.type} ${message.from}→${message.to} t${message.term}`;
  switch (message.type) {
    case 'PreVote':
    case 'Vote':
      return `${head} last=${message.lastLogIndex}/t${message.lastLogTerm}${message.type === 'Vote' && message.transfer ? ' transfer' : ''}`;
    case 'PreVoteResponse':
    case 'VoteResponse':
      return `${head} ${message.granted ? 'granted' : 'rejected'}`;
    case 'AppendEntries': {
      const entries = message.entries;
      const range = entries.length === 0 ? 'none' : `${entries[0]!.index}..${entries[entries.length - 1]!.index}`;
      return `${head} prev=${message.prevLogIndex}/t${message.prevLogTerm} entries=${range} commit=${message.commit}`;
    }
    case 'AppendEntriesResponse':
      return message.success
        ? `${head} ok match=${message.matchIndex}`
        : `${head} reject at=${message.matchIndex} hint=${message.hintIndex}/t${message.hintTerm}`;
    case 'Heartbeat':
      return `${head} commit=${message.commit} round=${message.round}`;
    case 'HeartbeatResponse':
      return `${head} round=${message.round}`;
    case 'TimeoutNow':
      return head;
    case 'ReadIndex':
      return `${head} context=${message.context}`;
    case 'ReadIndexResponse':
      return `${head} context=${message.context} ${message.success ? `index=${message.index}` : 'refused'}`;
    case 'InstallSnapshot':
      return `${head} snapshot=${message.snapshot.index}/t${message.snapshot.term}`;
    case 'InstallSnapshotResponse':
      return `${head} ${message.success ? 'ok' : 'rejected'} match=${message.matchIndex}`;
  }
}

export function formatTime(timeUs: number): string {
  return `${(timeUs / 1000).toFixed(3).padStart(10)} ms`;
}

export function formatRecord(record: TraceRecord): string {
  const at = formatTime(record.timeUs);
  switch (record.kind) {
    case 'deliver':
      return `${at}  deliver  ${formatMessage(record.message)}`;
    case 'send': {
      const fate = record.copies === 0 ? '  (dropped)' : record.copies === 2 ? '  (duplicated)' : '';
      return `${at}  send${record.afterPersist ? '*' : ' '}   ${formatMessage(record.message)}${fate}`;
    }
    case 'tick':
      return `${at}  tick     node ${record.node}`;
    case 'synced':
      return `${at}  fsynced  node ${record.node} (applied to ${record.applied})`;
    case 'note':
      return `${at}  ${record.node === 0 ? 'cluster' : `node ${record.node}`}: ${record.text}`;
  }
}

export class Trace {
  private readonly ring: (TraceRecord | undefined)[];
  private next = 0;
  private count = 0;
  private digestLow = 0x811c9dc5;
  private digestHigh = 0x01000193;

  constructor(
    readonly capacity: number,
    /** Called with every formatted record (a verbose replay); null to format nothing. */
    private readonly verbose: ((line: string) => void) | null,
    /** Keep routine records (ticks, fsync completions) in the ring and the verbose output; they are always in the digest. */
    private readonly keepRoutine = false,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`trace capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<TraceRecord | undefined>(capacity);
  }

  add(record: TraceRecord): void {
    this.count++;
    this.mixRecord(record);
    const routine = record.kind === 'tick' || record.kind === 'synced';
    if (!routine || this.keepRoutine) {
      this.ring[this.next] = record;
      this.next = (this.next + 1) % this.capacity;
    }
    if (this.verbose !== null && (!routine || this.keepRoutine)) this.verbose(formatRecord(record));
  }

  /** How many records were added in total. */
  get recordCount(): number {
    return this.count;
  }

  /** The most recent records, oldest first. */
  recent(): TraceRecord[] {
    const out: TraceRecord[] = [];
    for (let k = 0; k < this.capacity; k++) {
      const record = this.ring[(this.next + k) % this.capacity];
      if (record !== undefined) out.push(record);
    }
    return out;
  }

  /** A 64-bit digest (16 hex digits) of every record added, in order. */
  get digest(): string {
    return (this.digestHigh >>> 0).toString(16).padStart(8, '0') + (this.digestLow >>> 0).toString(16).padStart(8, '0');
  }

  private mix(value: number): void {
    // Two lanes over the value's low and high 32 bits; values here are integers below 2^53.
    const low = value | 0;
    const high = Math.floor(value / 4294967296) | 0;
    this.digestLow = Math.imul(this.digestLow ^ low, 0x01000193);
    this.digestLow = Math.imul(this.digestLow ^ high, 0x01000193);
    this.digestHigh = Math.imul(this.digestHigh ^ low, 0x5bd1e995);
    this.digestHigh ^= this.digestHigh >>> 13;
    this.digestHigh = Math.imul(this.digestHigh ^ this.digestLow, 0x27d4eb2f);
  }

  private mixRecord(record: TraceRecord): void {
    this.mix(record.timeUs);
    switch (record.kind) {
      case 'deliver':
      case 'send': {
        const message = record.message;
        this.mix(record.kind === 'send' ? 1 + record.copies : 0);
        this.mix(MESSAGE_TYPE_CODES[message.type]);
        this.mix(message.from);
        this.mix(message.to);
        this.mix(message.term);
        if (message.type === 'AppendEntries') {
          this.mix(message.prevLogIndex);
          this.mix(message.entries.length);
          this.mix(message.commit);
        } else if (message.type === 'AppendEntriesResponse') {
          this.mix(message.matchIndex);
          this.mix(message.success ? 1 : 0);
        }
        return;
      }
      case 'tick':
        this.mix(100 + record.node);
        return;
      case 'synced':
        this.mix(300 + record.node);
        this.mix(record.applied);
        return;
      case 'note':
        this.mix(200 + record.node);
        for (let k = 0; k < record.text.length; k++) this.mix(record.text.charCodeAt(k));
        return;
    }
  }
}
