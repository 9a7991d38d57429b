// Validation of what a node is started with: its RaftConfig and, on restart, the state read back
// from durable storage. Both come from outside the core (a profile file, a disk), so each rejected
// value is named by its path: `voters[2]`, `restore.entries[5].term`.

import { RaftConfigError } from './errors.js';
import { leaseTicksSafeMax } from './read-only.js';
import { NO_NODE } from './types.js';
import type { RaftConfig, RaftRestoreState, SnapshotMeta } from './types.js';

/** The drift bound leases are sized for when the config names none. */
export const DEFAULT_CLOCK_DRIFT_MAX = 0.05;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function requireInteger(value: unknown, field: string, minimum: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new RaftConfigError(field, `must be a safe integer >= ${minimum}, got ${String(value)}`);
  }
  return value;
}

export function validateConfig(config: RaftConfig): void {
  if (typeof config !== 'object' || config === null) throw new RaftConfigError('config', 'must be an object');
  const id = requireInteger(config.id, 'id', 1);
  if (!Array.isArray(config.voters) || config.voters.length === 0) {
    throw new RaftConfigError('voters', 'must be a non-empty array of node ids');
  }
  const seen = new Set<number>();
  config.voters.forEach((voter, position) => {
    requireInteger(voter, `voters[${position}]`, 1);
    if (seen.has(voter)) throw new RaftConfigError(`voters[${position}]`, `duplicate node id ${voter}`);
    seen.add(voter);
  });
  if (!seen.has(id)) throw new RaftConfigError('id', `node ${id} is not among the voters [${config.voters.join(', ')}]`);
  const electionTicks = requireInteger(config.electionTicks, 'electionTicks', 2);
  const heartbeatTicks = requireInteger(config.heartbeatTicks, 'heartbeatTicks', 1);
  if (heartbeatTicks * 2 > electionTicks) {
    // Followers must hear at least two heartbeats per election timeout, or one lost heartbeat
    // starts an election against a healthy leader.
    throw new RaftConfigError('heartbeatTicks', `must be at most half of electionTicks (${electionTicks}), got ${heartbeatTicks}`);
  }
  requireInteger(config.inflightMax, 'inflightMax', 1);
  requireInteger(config.batchEntriesMax, 'batchEntriesMax', 1);
  requireInteger(config.batchBytesMax, 'batchBytesMax', 1);
  if (config.uncommittedEntriesMax !== undefined) requireInteger(config.uncommittedEntriesMax, 'uncommittedEntriesMax', 1);
  if (config.uncommittedBytesMax !== undefined) requireInteger(config.uncommittedBytesMax, 'uncommittedBytesMax', 1);
  if (config.logCacheBytesMax !== undefined) requireInteger(config.logCacheBytesMax, 'logCacheBytesMax', 0);
  const clockDriftMax = config.clockDriftMax ?? DEFAULT_CLOCK_DRIFT_MAX;
  if (typeof clockDriftMax !== 'number' || !(clockDriftMax >= 0 && clockDriftMax < 0.5)) {
    throw new RaftConfigError('clockDriftMax', `must be a number in [0, 0.5), got ${String(clockDriftMax)}`);
  }
  const leaseTicks = config.leaseTicks === undefined ? 0 : requireInteger(config.leaseTicks, 'leaseTicks', 0);
  if (config.leaseUnsafe !== undefined && typeof config.leaseUnsafe !== 'boolean') throw new RaftConfigError('leaseUnsafe', 'must be a boolean');
  const safeMax = leaseTicksSafeMax(electionTicks, clockDriftMax);
  if (leaseTicks > safeMax && config.leaseUnsafe !== true) {
    throw new RaftConfigError(
      'leaseTicks',
      `${leaseTicks} ticks can serve stale reads: with electionTicks ${electionTicks} and clock drift up to ${clockDriftMax}, ` +
        `a lease must be at most ${safeMax} ticks (⌊(E−1)(1−ρ)/(1+ρ)⌋); set leaseUnsafe to run it anyway (labelled unsafe)`,
    );
  }
  if (typeof config.preVote !== 'boolean') throw new RaftConfigError('preVote', 'must be a boolean');
  if (typeof config.checkQuorum !== 'boolean') throw new RaftConfigError('checkQuorum', 'must be a boolean');
  if (typeof config.prng !== 'object' || config.prng === null || typeof config.prng.nextInt !== 'function') {
    throw new RaftConfigError('prng', 'must be a Prng (src/raft/prng.ts)');
  }
}

/**
 * Checks a restore state against the config; returns the snapshot to start from (an empty one if
 * none). Entry and snapshot terms above the hard state's term are accepted on purpose: the host
 * persists snapshot, then entries, then hard state, so a crash between them leaves newer-term
 * entries beside an older hard state (the node adopts that term: see RaftNode's constructor).
 */
export function validateRestore(restore: RaftRestoreState, config: RaftConfig): SnapshotMeta {
  if (typeof restore !== 'object' || restore === null) throw new RaftConfigError('restore', 'must be an object');
  const hardState = restore.hardState;
  if (typeof hardState !== 'object' || hardState === null) throw new RaftConfigError('restore.hardState', 'must be an object');
  requireInteger(hardState.term, 'restore.hardState.term', 0);
  const vote = requireInteger(hardState.vote, 'restore.hardState.vote', 0);
  if (vote !== NO_NODE && !config.voters.includes(vote)) {
    throw new RaftConfigError('restore.hardState.vote', `voted for ${vote}, who is not a voter`);
  }
  const hardCommit = requireInteger(hardState.commit, 'restore.hardState.commit', 0);

  let snapshot: SnapshotMeta = { index: 0, term: 0, config: { voters: [...config.voters] } };
  if (restore.snapshot !== null) {
    const stored = restore.snapshot;
    if (typeof stored !== 'object' || stored === undefined) throw new RaftConfigError('restore.snapshot', 'must be a SnapshotMeta or null');
    const index = requireInteger(stored.index, 'restore.snapshot.index', 0);
    const snapshotTerm = requireInteger(stored.term, 'restore.snapshot.term', 0);
    if ((index === 0) !== (snapshotTerm === 0)) throw new RaftConfigError('restore.snapshot.term', 'index and term must be both 0 or both positive');
    if (typeof stored.config !== 'object' || stored.config === null || !Array.isArray(stored.config.voters)) {
      throw new RaftConfigError('restore.snapshot.config.voters', 'must be an array of node ids');
    }
    snapshot = stored;
  }

  if (!Array.isArray(restore.entries)) throw new RaftConfigError('restore.entries', 'must be an array');
  let previousTerm = snapshot.term;
  restore.entries.forEach((entry, position) => {
    const path = `restore.entries[${position}]`;
    if (typeof entry !== 'object' || entry === null) throw new RaftConfigError(path, 'must be an Entry');
    const expectedIndex = snapshot.index + 1 + position;
    if (entry.index !== expectedIndex) {
      throw new RaftConfigError(`${path}.index`, `must be ${expectedIndex} (contiguous after the snapshot at ${snapshot.index}), got ${String(entry.index)}`);
    }
    if (!isCount(entry.term) || entry.term < previousTerm) {
      throw new RaftConfigError(`${path}.term`, `must be a safe integer >= ${previousTerm} (terms never decrease along the log), got ${String(entry.term)}`);
    }
    if (!(entry.data instanceof Uint8Array)) throw new RaftConfigError(`${path}.data`, 'must be a Uint8Array');
    previousTerm = entry.term;
  });

  const lastIndex = snapshot.index + restore.entries.length;
  if (hardCommit > lastIndex) throw new RaftConfigError('restore.hardState.commit', `${hardCommit} is above the last index ${lastIndex}`);
  // A stored commit below the snapshot is legal (persisting commit is an optimisation): the
  // snapshot itself proves its index was committed.
  const commit = Math.max(hardCommit, snapshot.index);
  const applied = requireInteger(restore.applied, 'restore.applied', 0);
  if (applied < snapshot.index) throw new RaftConfigError('restore.applied', `${applied} is below the snapshot index ${snapshot.index}`);
  if (applied > commit) throw new RaftConfigError('restore.applied', `${applied} is above the commit index ${commit}`);
  return snapshot;
}
