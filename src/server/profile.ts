// Profiles: which switches a cluster runs with (`profiles/*.json`). A profile names every switch
// the node has, with the node's names, and may `extends` another profile (a file name in the same
// folder, without .json): the child's fields replace the parent's, section by section. Anything
// not given takes the default below — the safe configuration with every optimisation OFF, the naive
// baseline the design sources start from.
//
// Unsafe settings — fsync 'none' (can lose acknowledged writes), reads 'stale' (can return stale
// data), a lease longer than the election timeout minus the clock-drift bound — are refused unless
// the profile says `"unsafe": true`; the resolved profile then lists why it is unsafe, and every
// report prints that.
//
// A bad file is refused with its path and the path of the bad field, one line per problem:
//   profiles/fast.json: replication.inflightMax: must be an integer from 1 to 65536, got 0

import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { leaseTicksSafeMax } from '../raft/read-only.js';
import { FSYNC_POLICIES } from '../storage/options.js';
import { parseCodecName } from '../storage/codec.js';
import type { NodeId } from '../raft/types.js';
import { READ_MODES, resolveNodeOptions, type KvLock, type NodeOptions, type ReadMode } from './node-options.js';
import { formatIssues } from '../schema/issues.js';

const integer = (min: number, max: number) => z.number().int().min(min).max(max);
const codecName = z.string().refine((value) => {
  try {
    parseCodecName(value);
    return true;
  } catch {
    return false;
  }
}, "must be 'none', 'lz4' or 'zstd:N' (N from 1 to 22)");

const ClusterSection = z.strictObject({
  /** Voting members. */
  nodes: integer(1, 15).optional(),
  /** 'embedded': every node in this process; 'processes': one process per node, over TCP. */
  layout: z.enum(['embedded', 'processes']).optional(),
  /** Embedded only: one-way delay added to every message (0.5 ms each way = a 1 ms round trip). */
  latencyUs: integer(0, 10_000_000).optional(),
  jitterUs: integer(0, 10_000_000).optional(),
});

const TimingSection = z.strictObject({
  tickMs: z.number().min(0.1).max(10_000).optional(),
  electionTicks: integer(2, 100_000).optional(),
  heartbeatTicks: integer(1, 100_000).optional(),
  /** 0: no lease reads. */
  leaseTicks: integer(0, 100_000).optional(),
  clockDriftMax: z.number().min(0).max(0.49).optional(),
});

const RaftSection = z.strictObject({
  preVote: z.boolean().optional(),
  checkQuorum: z.boolean().optional(),
});

const ReplicationSection = z.strictObject({
  /** AppendEntries outstanding per follower: 1 = stop-and-wait, more = pipelining. */
  inflightMax: integer(1, 65_536).optional(),
  /** Entries per AppendEntries (1: no append batching). */
  batchEntriesMax: integer(1, 1_000_000).optional(),
  batchBytesMax: integer(1, 1024 * 1024 * 1024).optional(),
  /** Client commands per proposal (1: no proposal batching). */
  proposalBatchEntriesMax: integer(1, 1_000_000).optional(),
  /** The leader sends appends while its own write is in flight (parallel replication). */
  sendBeforePersist: z.boolean().optional(),
  uncommittedEntriesMax: integer(1, 100_000_000).optional(),
  uncommittedBytesMax: integer(1, 16 * 1024 * 1024 * 1024).optional(),
});

const StorageSection = z.strictObject({
  fsync: z.enum(FSYNC_POLICIES as unknown as [string, ...string[]]).optional(),
  /** Readies persisted at once: more lets one fsync cover the appends of many (group commit across Readies). */
  readiesInFlightMax: integer(1, 65_536).optional(),
  batchWindowUs: integer(0, 1_000_000).optional(),
  logCodec: codecName.optional(),
  snapshotCodec: codecName.optional(),
  segmentSizeBytes: integer(4096, 4 * 1024 * 1024 * 1024).optional(),
  /** Snapshot and compact after this many applied entries. */
  snapshotEntries: integer(1, Number.MAX_SAFE_INTEGER).optional(),
});

const KvSection = z.strictObject({
  /** 'none': the single-threaded heap skip list; 'mutex' / 'rwlock': the shared skip list under that lock. */
  lock: z.enum(['none', 'mutex', 'rwlock']).optional(),
  readerThreads: integer(0, 64).optional(),
});

const ReadsSection = z.strictObject({
  mode: z.enum(READ_MODES as unknown as [string, ...string[]]).optional(),
});

export const ProfileFileSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  extends: z.string().min(1).optional(),
  /** Must be true for a profile with unsafe settings. */
  unsafe: z.boolean().optional(),
  cluster: ClusterSection.optional(),
  timing: TimingSection.optional(),
  raft: RaftSection.optional(),
  replication: ReplicationSection.optional(),
  storage: StorageSection.optional(),
  kv: KvSection.optional(),
  reads: ReadsSection.optional(),
});
export type ProfileFile = z.infer<typeof ProfileFileSchema>;

type Sections = Required<Pick<ProfileFile, 'cluster' | 'timing' | 'raft' | 'replication' | 'storage' | 'kv' | 'reads'>>;
type Full<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

export interface ResolvedProfile {
  readonly name: string;
  readonly description: string;
  /** The files it was read from, the profile itself first, then its ancestors. */
  readonly sources: readonly string[];
  readonly unsafe: boolean;
  /** Why it is unsafe (empty when safe). */
  readonly unsafeReasons: readonly string[];
  readonly cluster: Full<Sections['cluster']>;
  readonly timing: Full<Sections['timing']>;
  readonly raft: Full<Sections['raft']>;
  readonly replication: Full<Sections['replication']>;
  readonly storage: Full<Sections['storage']>;
  readonly kv: { readonly lock: KvLock; readonly readerThreads: number };
  readonly reads: { readonly mode: ReadMode };
}

/** The baseline: safe, every optimisation off. */
export const PROFILE_DEFAULTS: Omit<ResolvedProfile, 'name' | 'description' | 'sources' | 'unsafe' | 'unsafeReasons'> = {
  cluster: { nodes: 3, layout: 'embedded', latencyUs: 0, jitterUs: 0 },
  timing: { tickMs: 10, electionTicks: 30, heartbeatTicks: 5, leaseTicks: 0, clockDriftMax: 0.05 },
  raft: { preVote: true, checkQuorum: true },
  replication: {
    inflightMax: 1,
    batchEntriesMax: 1,
    batchBytesMax: 1024 * 1024,
    proposalBatchEntriesMax: 1,
    sendBeforePersist: false,
    uncommittedEntriesMax: 65_536,
    uncommittedBytesMax: 64 * 1024 * 1024,
  },
  storage: { fsync: 'always', readiesInFlightMax: 1, batchWindowUs: 0, logCodec: 'none', snapshotCodec: 'none', segmentSizeBytes: 64 * 1024 * 1024, snapshotEntries: 100_000 },
  kv: { lock: 'mutex', readerThreads: 0 },
  reads: { mode: 'log' },
};

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.map((problem) => `${file}: ${problem}`).join('\n'));
  }
}

const SECTIONS = ['cluster', 'timing', 'raft', 'replication', 'storage', 'kv', 'reads'] as const;
const EXTENDS_DEPTH_MAX = 16;

/**
 * Reads a profile by path, or by name from `profilesDir` (`baseline` → profiles/baseline.json),
 * resolving `extends` and defaults, and checks it.
 */
export async function loadProfile(nameOrPath: string, profilesDir = 'profiles'): Promise<ResolvedProfile> {
  const path = nameOrPath.endsWith('.json') || nameOrPath.includes('/') ? nameOrPath : join(profilesDir, `${nameOrPath}.json`);
  const chain: { file: string; profile: ProfileFile }[] = [];
  let current: string | null = resolve(path);
  while (current !== null) {
    if (chain.some((link) => link.file === current)) throw new ProfileError(chain[0]!.file, [`extends: cycle through ${[...chain.map((link) => link.file), current].join(' → ')}`]);
    if (chain.length >= EXTENDS_DEPTH_MAX) throw new ProfileError(chain[0]!.file, [`extends: more than ${EXTENDS_DEPTH_MAX} levels`]);
    const profile = await readProfileFile(current);
    chain.push({ file: current, profile });
    current = profile.extends === undefined ? null : resolve(dirname(current), profile.extends.endsWith('.json') ? profile.extends : `${profile.extends}.json`);
  }
  return resolveChain(chain, basename(path, '.json'));
}

/** Parses one profile's JSON text (for tests and profiles that do not extend another). */
export function parseProfile(text: string, sourceName: string): ResolvedProfile {
  const profile = parseProfileText(text, sourceName);
  if (profile.extends !== undefined) throw new ProfileError(sourceName, ['extends: use loadProfile to resolve a profile that extends another']);
  return resolveChain([{ file: sourceName, profile }], basename(sourceName, '.json'));
}

async function readProfileFile(file: string): Promise<ProfileFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ProfileError(file, [code === 'ENOENT' ? 'no such profile file' : `cannot read: ${(error as Error).message}`]);
  }
  return parseProfileText(text, file);
}

function parseProfileText(text: string, file: string): ProfileFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = ProfileFileSchema.safeParse(json);
  if (!parsed.success) throw new ProfileError(file, formatIssues(parsed.error.issues, json));
  return parsed.data;
}

function resolveChain(chain: readonly { file: string; profile: ProfileFile }[], fallbackName: string): ResolvedProfile {
  const file = chain[0]!.file;
  const merged: Record<string, Record<string, unknown>> = {};
  for (const section of SECTIONS) merged[section] = { ...PROFILE_DEFAULTS[section] };
  // Ancestors first, so the profile itself has the last word.
  for (const { profile } of [...chain].reverse()) {
    for (const section of SECTIONS) Object.assign(merged[section]!, profile[section] ?? {});
  }
  const own = chain[0]!.profile;
  const resolved = {
    name: own.name ?? fallbackName,
    description: own.description ?? chain.find((link) => link.profile.description !== undefined)?.profile.description ?? '',
    sources: chain.map((link) => link.file),
    ...(merged as unknown as Omit<ResolvedProfile, 'name' | 'description' | 'sources' | 'unsafe' | 'unsafeReasons'>),
  };
  const problems: string[] = [];
  const unsafeReasons: string[] = [];
  const timing = resolved.timing;
  if (timing.heartbeatTicks * 2 > timing.electionTicks) {
    problems.push(`timing.heartbeatTicks: must be at most half of timing.electionTicks (${timing.electionTicks}), got ${timing.heartbeatTicks}`);
  }
  const leaseSafeMax = leaseTicksSafeMax(timing.electionTicks, timing.clockDriftMax);
  if (timing.leaseTicks > leaseSafeMax) {
    unsafeReasons.push(`timing.leaseTicks ${timing.leaseTicks} exceeds the safe bound ${leaseSafeMax} (election timeout minus clock drift): lease reads can be stale`);
  }
  if (resolved.storage.fsync === 'none') unsafeReasons.push("storage.fsync 'none': acknowledged writes can be lost in a crash");
  if (resolved.reads.mode === 'stale') unsafeReasons.push("reads.mode 'stale': reads can return stale data");
  if (resolved.reads.mode === 'lease' && timing.leaseTicks === 0) problems.push("reads.mode: 'lease' needs timing.leaseTicks > 0");
  if (resolved.kv.readerThreads > 0 && resolved.kv.lock === 'none') problems.push("kv.readerThreads: reader threads need kv.lock 'mutex' or 'rwlock' (the shared skip list)");
  const declaredUnsafe = chain.some((link) => link.profile.unsafe === true);
  if (unsafeReasons.length > 0 && !declaredUnsafe) {
    problems.push(...unsafeReasons.map((reason) => `unsafe: ${reason} — set "unsafe": true to run it anyway (every report then marks it UNSAFE)`));
  }
  if (problems.length > 0) throw new ProfileError(file, problems);
  return { ...resolved, unsafe: unsafeReasons.length > 0, unsafeReasons };
}

/** One line for reports, e.g. "fsync=batched inflight=64 batch=4096 …". */
export function describeProfile(profile: ResolvedProfile): string {
  const { storage, replication, kv, reads, timing } = profile;
  return [
    `fsync=${storage.fsync}${storage.readiesInFlightMax > 1 ? `×${storage.readiesInFlightMax}` : ''}`,
    `inflight=${replication.inflightMax}`,
    `batch=${replication.batchEntriesMax}/${replication.proposalBatchEntriesMax}`,
    replication.sendBeforePersist ? 'send-before-persist' : null,
    `kv=${kv.lock}${kv.readerThreads > 0 ? `+${kv.readerThreads}r` : ''}`,
    `log=${storage.logCodec}`,
    `snap=${storage.snapshotCodec}`,
    `reads=${reads.mode}${timing.leaseTicks > 0 ? `(lease ${timing.leaseTicks}t)` : ''}`,
    profile.unsafe ? 'UNSAFE' : null,
  ]
    .filter((part) => part !== null)
    .join(' ');
}

/** The options one node of a profile's cluster runs with. */
export function nodeOptionsOf(profile: ResolvedProfile, id: NodeId, voters: readonly NodeId[], dataDir: string, seed: number): NodeOptions {
  const { timing, raft, replication, storage, kv, reads } = profile;
  return resolveNodeOptions({
    id,
    voters,
    dataDir,
    seed,
    tickMs: timing.tickMs,
    raft: {
      electionTicks: timing.electionTicks,
      heartbeatTicks: timing.heartbeatTicks,
      preVote: raft.preVote,
      checkQuorum: raft.checkQuorum,
      inflightMax: replication.inflightMax,
      batchEntriesMax: replication.batchEntriesMax,
      batchBytesMax: replication.batchBytesMax,
      uncommittedEntriesMax: replication.uncommittedEntriesMax,
      uncommittedBytesMax: replication.uncommittedBytesMax,
      leaseTicks: timing.leaseTicks,
      clockDriftMax: timing.clockDriftMax,
      leaseUnsafe: profile.unsafe,
    },
    storage: {
      fsync: storage.fsync as (typeof FSYNC_POLICIES)[number],
      allowUnsafe: profile.unsafe,
      batchWindowUs: storage.batchWindowUs,
      logCodec: storage.logCodec,
      snapshotCodec: storage.snapshotCodec,
      segmentSizeBytes: storage.segmentSizeBytes,
    },
    proposalBatchEntriesMax: replication.proposalBatchEntriesMax,
    sendBeforePersist: replication.sendBeforePersist,
    readiesInFlightMax: storage.readiesInFlightMax,
    snapshotEntries: storage.snapshotEntries,
    readMode: reads.mode,
    unsafeReadsAllowed: profile.unsafe,
    kvLock: kv.lock,
    readerThreads: kv.readerThreads,
  });
}
