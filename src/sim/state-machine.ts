// The simulation's state machine: the ordered list of client payload ids a node applied and the
// chained hash of every entry applied (the same chain as the log-matching checker uses, so a
// snapshot carries its log prefix's hash). Snapshots are real bytes, shipped with InstallSnapshot.

import { chainHash, EMPTY_LOG_HASH } from '../check/entry-hash.js';
import type { Entry, SnapshotMeta } from '../raft/types.js';

/** Every client payload is this long (a magic word and the payload id). */
export const PAYLOAD_BYTES = 8;
const PAYLOAD_MAGIC = 0x5349_4d50; // "SIMP"
const SNAPSHOT_HEADER_BYTES = 8 * 3 + 4;

/** A client payload: unique per proposal within a run. */
export function encodePayload(payloadId: number): Uint8Array {
  const bytes = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, PAYLOAD_MAGIC);
  view.setUint32(4, payloadId);
  return bytes;
}

/** The payload id in `data`, or null for an empty entry (a leader's no-op). */
export function decodePayload(data: Uint8Array, where: string): number | null {
  if (data.length === 0) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length !== PAYLOAD_BYTES || view.getUint32(0) !== PAYLOAD_MAGIC) {
    throw new RangeError(`${where}: entry data is not a simulation payload (${data.length} bytes)`);
  }
  return view.getUint32(4);
}

export class SimStateMachine {
  appliedIndex = 0;
  appliedTerm = 0;
  hash = EMPTY_LOG_HASH;
  private payloadIds: number[] = [];
  private payloadSet: Set<number> | null = null;

  apply(entry: Entry, where: string): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new RangeError(`${where}: applying index ${entry.index} after ${this.appliedIndex}`);
    }
    const payloadId = decodePayload(entry.data, where);
    if (payloadId !== null) {
      if (this.has(payloadId)) throw new RangeError(`${where}: payload ${payloadId} applied twice (again at index ${entry.index})`);
      this.payloadIds.push(payloadId);
      this.payloadSet?.add(payloadId);
    }
    this.appliedIndex = entry.index;
    this.appliedTerm = entry.term;
    this.hash = chainHash(this.hash, entry);
  }

  has(payloadId: number): boolean {
    if (this.payloadSet === null) this.payloadSet = new Set(this.payloadIds);
    return this.payloadSet.has(payloadId);
  }

  get payloadCount(): number {
    return this.payloadIds.length;
  }

  snapshot(): Uint8Array {
    const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES + 4 * this.payloadIds.length);
    const view = new DataView(bytes.buffer);
    view.setFloat64(0, this.appliedIndex);
    view.setFloat64(8, this.appliedTerm);
    view.setFloat64(16, this.hash);
    view.setUint32(24, this.payloadIds.length);
    this.payloadIds.forEach((id, k) => view.setUint32(SNAPSHOT_HEADER_BYTES + 4 * k, id));
    return bytes;
  }

  /** Replace the state with a snapshot's; `meta` must describe the same point. */
  restore(data: Uint8Array, meta: SnapshotMeta, where: string): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < SNAPSHOT_HEADER_BYTES) throw new RangeError(`${where}: snapshot of ${data.length} bytes is shorter than its header`);
    const index = view.getFloat64(0);
    const term = view.getFloat64(8);
    const count = view.getUint32(24);
    if (data.length !== SNAPSHOT_HEADER_BYTES + 4 * count) {
      throw new RangeError(`${where}: snapshot length ${data.length} does not match its ${count} payloads`);
    }
    if (index !== meta.index || term !== meta.term) {
      throw new RangeError(`${where}: snapshot bytes are of index ${index} term ${term}, metadata says index ${meta.index} term ${meta.term}`);
    }
    this.appliedIndex = index;
    this.appliedTerm = term;
    this.hash = view.getFloat64(16);
    this.payloadIds = Array.from({ length: count }, (_, k) => view.getUint32(SNAPSHOT_HEADER_BYTES + 4 * k));
    this.payloadSet = null;
  }

  /** The chained hash a snapshot's bytes carry (for the checkers). */
  static snapshotHash(data: Uint8Array): number {
    return new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(16);
  }
}
