// A node's simulated file system: the `FileOps` seam (src/storage/file-ops.ts) that the real
// write-ahead log and snapshot store run on inside the deterministic simulation, modelling what a
// disk keeps across a power loss. Every write lands in the volatile layer (the page cache) at once
// and reads see it; a `datasync`/`sync` of a file makes that file's data durable; a
// `syncDirectory` makes the creates, renames and unlinks in that directory durable. A created file
// whose directory was never synced does not exist after a crash, even if its data was synced; a
// rename or unlink not followed by a directory sync may be undone. (POSIX promises no more; ext4
// in practice often commits a new file's name with its first fsync, so this is the stricter
// model.) `mkdir` is durable at once: Storage.open creates wal/ and snap/ and syncs the store's
// directory before it returns, so that window tests nothing the simulation checks. Opening a
// directory fails with EISDIR in every mode (Linux lets a read-only open through; the storage
// layer never opens directories). Syncs complete after a seeded latency, through the simulation's
// scheduler (`SimScheduler`), so the simulation decides when durability happens; every other call
// settles at once.
//
// THE SUBTLE THING: durability is tracked per operation, not per file. Every unsynced write,
// truncate and directory change is one entry of a log kept in issue order. A sync makes durable
// exactly the operations of its file (or directory) issued before the sync was CALLED — a write
// issued while it is in flight is not covered, as with a real fsync. A crash keeps the durable
// layer plus what its cut (file-system-crash.ts) keeps of that log: always a prefix in issue
// order, possibly ending in a torn write; never a later operation without the earlier ones. Real
// disks may also persist unsynced writes out of order; the WAL treats the damage that leaves (an
// intact record after a damaged one) as corruption and refuses to open (wal.ts, DAMAGE), which is
// right for an operator and useless for a simulation that checks protocol safety, so this model
// keeps to prefixes.
//
// A crash also ends the incarnation: handles opened before it reject every call with EBADF, and
// the promises of syncs in flight and of the clock's delays never settle, so a dead process's
// code — which can only resume through one of those promises — never runs again. (Calls made on
// the SimFileSystem itself always act on the current incarnation: the simulation must drop the
// dead node's objects, and let microtasks settle before it crashes a node, as an event loop does.)
//
// Space: `capacityBytes` bounds the sum of the volatile sizes of named files; a write past it
// writes what fits and fails with ENOSPC (a short write, then the error). An unlinked file's space
// is freed at unlink even if a handle still has it open.
//
// Nothing here reads a clock, a timer, Math.random or the real file system: time comes from the
// scheduler, chance from the injected Prng, so a seed replays the same run.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Prng } from '../random/prng.js';
import { FaultInjectingFileOps, systemError, type FaultRule, type FileOperation, type FileOps, type InjectedFault, type OpenMode, type StorageFile } from '../storage/file-ops.js';
import type { StorageClock } from '../storage/options.js';
import { FileBytes } from './file-system-bytes.js';
import { chooseCrashCut, type FileSystemCrashCut, type FileSystemCrashOutcome, type UnsyncedOperationKind } from './file-system-crash.js';

export { describeFileSystemCrashOutcome, type FileSystemCrashCut, type FileSystemCrashOutcome } from './file-system-crash.js';

/** The simulation's event queue as the file system sees it. Times are integer microseconds. */
export interface SimScheduler {
  nowUs(): number;
  /** Runs `run` once, `delayUs` (a non-negative integer) after now, from the simulation's event loop. */
  after(delayUs: number, run: () => void): void;
}

/** Fail a seeded fraction of the calls of one operation (on paths containing `pathIncludes`, if given). */
export interface SeededFaultRate {
  readonly operation: FileOperation;
  /** The error code the failure carries: 'ENOSPC', 'EIO', … */
  readonly code: string;
  readonly probability: number;
  readonly pathIncludes?: string;
}

export interface SimFileSystemOptions {
  readonly scheduler: SimScheduler;
  /** Sync latencies and seeded faults draw from it (give each node's file system its own fork). */
  readonly prng: Prng;
  /** Each datasync, sync and syncDirectory completes after a latency drawn uniformly from [min, max] µs. Default 100. */
  readonly syncLatencyUsMin?: number;
  /** Default 3000 (the simulation's fsync range). */
  readonly syncLatencyUsMax?: number;
  /** The disk's size: writes beyond it fail with ENOSPC. Default: unbounded. */
  readonly capacityBytes?: number;
  readonly faultRates?: readonly SeededFaultRate[];
}

export interface SimFileSystemCounters {
  /** write() calls that changed the volatile layer (a short write before a failure counts). */
  writes: number;
  bytesWritten: number;
  /** datasync() and sync() calls that completed and made data durable. */
  syncs: number;
  directorySyncs: number;
  crashes: number;
  tornWrites: number;
  /** Unsynced operations crashes discarded (a torn write counts as lost). */
  lostOperations: number;
  abandonedSyncs: number;
  injectedFaults: number;
}

/** One file as the layers hold it; null: the path names no file in that layer. */
export interface SimFileState {
  readonly path: string;
  readonly volatileBytes: number | null;
  readonly durableBytes: number | null;
}

const SYNC_LATENCY_US_MIN_DEFAULT = 100;
const SYNC_LATENCY_US_MAX_DEFAULT = 3_000;
/** Injected faults remembered for introspection (the counter counts them all). */
const INJECTED_FAULTS_KEPT_MAX = 1_024;
/** The unsynced-operation log is rebuilt without its durable operations once it is longer than this and they are most of it. */
const LOG_COMPACTION_LENGTH_MIN = 1_024;

class SimInode {
  volatile = new FileBytes();
  durable = new FileBytes();
  /** Its unsynced writes and truncates, in issue order. */
  pending: UnsyncedOperation[] = [];
  /** Counted against capacityBytes (false once it has no name in the volatile layer). */
  charged = true;
}

interface Directory {
  readonly path: string;
  volatileEntries: Map<string, SimInode>;
  durableEntries: Map<string, SimInode>;
  /** Its unsynced links, unlinks and renames (a rename is in both directories' lists), in issue order. */
  pending: UnsyncedOperation[];
}

interface OperationBase {
  readonly kind: UnsyncedOperationKind;
  readonly sequence: number;
  readonly inode: SimInode;
  readonly path: string;
  readonly writeBytes: number;
  durable: boolean;
}

type UnsyncedOperation =
  | (OperationBase & { readonly kind: 'write'; readonly offsetBytes: number; readonly bytes: Uint8Array })
  | (OperationBase & { readonly kind: 'truncate'; readonly lengthBytes: number })
  | (OperationBase & { readonly kind: 'link' | 'unlink'; readonly directory: Directory; readonly name: string })
  | (OperationBase & { readonly kind: 'rename'; readonly from: Directory; readonly fromName: string; readonly to: Directory; readonly toName: string });

const ERROR_TEXT: Record<string, string> = {
  EBADF: 'bad file descriptor',
  EEXIST: 'file already exists',
  EINVAL: 'invalid argument',
  EISDIR: 'illegal operation on a directory',
  ENOENT: 'no such file or directory',
  ENOSPC: 'no space left on device',
  ENOTDIR: 'not a directory',
  ENOTSUP: 'operation not supported',
};

/** A Node-style system error (code, syscall, path), worded as Node words them, plus why. */
function fileSystemError(code: string, syscall: string, path: string, detail?: string): Error {
  const error = new Error(`${code}: ${ERROR_TEXT[code] ?? 'error'}, ${syscall} '${path}'${detail === undefined ? '' : ` (simulated: ${detail})`}`) as Error & {
    code: string;
    syscall: string;
    path: string;
  };
  error.code = code;
  error.syscall = syscall;
  error.path = path;
  return error;
}

function checkPosition(value: number, field: string, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} on '${path}' must be a non-negative safe integer, got ${value}`);
}

function normalize(path: string): string {
  // resolve() against an absolute base is a pure string operation (it reads the cwd only when no argument is absolute).
  return posix.resolve('/', path);
}

/** The calls a handle makes on its file system (an object of closures, so they reach its private state). */
interface HandleHost {
  write(handle: SimFileHandle, data: Uint8Array, positionBytes: number): Promise<void>;
  read(handle: SimFileHandle, target: Uint8Array, positionBytes: number): Promise<number>;
  sync(handle: SimFileHandle, operation: 'datasync' | 'sync'): Promise<void>;
  truncate(handle: SimFileHandle, lengthBytes: number): Promise<void>;
  sizeBytes(handle: SimFileHandle): Promise<number>;
  close(handle: SimFileHandle): Promise<void>;
}

class SimFileHandle implements StorageFile {
  closed = false;
  constructor(
    readonly path: string,
    readonly inode: SimInode,
    readonly writable: boolean,
    readonly incarnation: number,
    private readonly host: HandleHost,
  ) {}
  write(data: Uint8Array, positionBytes: number): Promise<void> {
    return this.host.write(this, data, positionBytes);
  }
  read(target: Uint8Array, positionBytes: number): Promise<number> {
    return this.host.read(this, target, positionBytes);
  }
  datasync(): Promise<void> {
    return this.host.sync(this, 'datasync');
  }
  sync(): Promise<void> {
    return this.host.sync(this, 'sync');
  }
  truncate(lengthBytes: number): Promise<void> {
    return this.host.truncate(this, lengthBytes);
  }
  sizeBytes(): Promise<number> {
    return this.host.sizeBytes(this);
  }
  close(): Promise<void> {
    return this.host.close(this);
  }
}

export class SimFileSystem implements FileOps {
  readonly counters: SimFileSystemCounters = {
    writes: 0,
    bytesWritten: 0,
    syncs: 0,
    directorySyncs: 0,
    crashes: 0,
    tornWrites: 0,
    lostOperations: 0,
    abandonedSyncs: 0,
    injectedFaults: 0,
  };
  /** The most recent injected faults, oldest first (at most INJECTED_FAULTS_KEPT_MAX). */
  readonly injectedFaults: InjectedFault[] = [];

  private readonly scheduler: SimScheduler;
  private readonly prng: Prng;
  private readonly syncLatencyUsMin: number;
  private readonly syncLatencyUsMax: number;
  private capacityBytes = Number.POSITIVE_INFINITY;
  private faultRates: readonly SeededFaultRate[] = [];
  /** Used only as the rule book for armed faults (same matching and counting as around real files). */
  private readonly armedFaults: FaultInjectingFileOps;

  private readonly directories = new Map<string, Directory>();
  private incarnation = 0;
  private nextSequence = 0;
  /** Every operation not yet durable, in issue order, possibly with durable ones left in between. */
  private log: UnsyncedOperation[] = [];
  private logHead = 0;
  private unsyncedCount = 0;
  private syncsInFlightCount = 0;
  /** Told when a sync starts and how long it will take: the simulation aims crashes inside that window. */
  onSyncStarted: ((latencyUs: number) => void) | null = null;
  private usedBytesValue = 0;
  private readonly handleHost: HandleHost;

  constructor(options: SimFileSystemOptions) {
    this.scheduler = options.scheduler;
    this.prng = options.prng;
    this.syncLatencyUsMin = options.syncLatencyUsMin ?? SYNC_LATENCY_US_MIN_DEFAULT;
    this.syncLatencyUsMax = options.syncLatencyUsMax ?? SYNC_LATENCY_US_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.syncLatencyUsMin) || this.syncLatencyUsMin < 0) {
      throw new RangeError(`SimFileSystem option syncLatencyUsMin must be a non-negative integer, got ${this.syncLatencyUsMin}`);
    }
    if (!Number.isSafeInteger(this.syncLatencyUsMax) || this.syncLatencyUsMax < this.syncLatencyUsMin) {
      throw new RangeError(`SimFileSystem option syncLatencyUsMax must be an integer ≥ syncLatencyUsMin (${this.syncLatencyUsMin}), got ${this.syncLatencyUsMax}`);
    }
    this.setCapacityBytes(options.capacityBytes ?? Number.POSITIVE_INFINITY);
    this.setFaultRates(options.faultRates ?? []);
    this.armedFaults = new FaultInjectingFileOps(this);
    this.directories.set('/', { path: '/', volatileEntries: new Map(), durableEntries: new Map(), pending: [] });
    this.handleHost = {
      write: (handle, data, positionBytes) => this.writeFile(handle, data, positionBytes),
      read: (handle, target, positionBytes) => this.readFile(handle, target, positionBytes),
      sync: (handle, operation) => this.syncFile(handle, operation),
      truncate: (handle, lengthBytes) => this.truncateFile(handle, lengthBytes),
      sizeBytes: (handle) => this.fileSize(handle),
      close: (handle) => this.closeFile(handle),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Faults and capacity
  // -------------------------------------------------------------------------------------------

  /** Fails the calls `rule` selects (same fields and counting as FaultInjectingFileOps.addRule). */
  armFault(rule: FaultRule): void {
    this.armedFaults.addRule(rule);
  }

  clearArmedFaults(): void {
    this.armedFaults.clearRules();
  }

  /** Replaces the seeded fault rates (an empty list turns seeded faults off, e.g. for a heal phase). */
  setFaultRates(rates: readonly SeededFaultRate[]): void {
    rates.forEach((rate, i) => {
      if (!(rate.probability >= 0 && rate.probability <= 1)) throw new RangeError(`faultRates[${i}].probability must be in [0, 1], got ${rate.probability}`);
    });
    this.faultRates = rates.slice();
  }

  /** The disk's size (Infinity: unbounded). Lowering it below what is used fails later growth, loses nothing. */
  setCapacityBytes(capacityBytes: number): void {
    if (!(capacityBytes >= 0) || (capacityBytes !== Number.POSITIVE_INFINITY && !Number.isSafeInteger(capacityBytes))) {
      throw new RangeError(`SimFileSystem capacityBytes must be a non-negative integer or Infinity, got ${capacityBytes}`);
    }
    this.capacityBytes = capacityBytes;
  }

  /** Bytes counted against capacityBytes: the volatile sizes of the named files. */
  get usedBytes(): number {
    return this.usedBytesValue;
  }

  /** The fault this call suffers, if any: an armed rule first, then the seeded rates in order. */
  private fault(operation: FileOperation, path: string, writeBytes: number): { code: string; partialWriteBytes: number } | null {
    let code: string | null = null;
    let partialWriteBytes = 0;
    const rule = this.armedFaults.fault(operation, path);
    if (rule !== null) {
      code = rule.code;
      partialWriteBytes = Math.min(rule.partialWriteBytes ?? 0, writeBytes);
    } else {
      for (const rate of this.faultRates) {
        if (rate.operation !== operation || (rate.pathIncludes !== undefined && !path.includes(rate.pathIncludes))) continue;
        if (!this.prng.chance(rate.probability)) continue;
        code = rate.code;
        // A failing write may have put any prefix of its bytes in place first (a short write).
        partialWriteBytes = writeBytes > 0 ? this.prng.nextInt(0, writeBytes) : 0;
        break;
      }
    }
    if (code === null) return null;
    this.counters.injectedFaults++;
    if (this.injectedFaults.length >= INJECTED_FAULTS_KEPT_MAX) this.injectedFaults.shift();
    this.injectedFaults.push({ operation, path, code });
    return { code, partialWriteBytes };
  }

  private throwIfFaulted(operation: FileOperation, path: string): void {
    const fault = this.fault(operation, path, 0);
    if (fault !== null) throw systemError(fault.code, operation, path);
  }

  // -------------------------------------------------------------------------------------------
  // FileOps
  // -------------------------------------------------------------------------------------------

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    const absolute = normalize(path);
    this.throwIfFaulted('open', path);
    const directory = this.directories.get(posix.dirname(absolute));
    if (directory === undefined) throw fileSystemError(this.isFile(posix.dirname(absolute)) ? 'ENOTDIR' : 'ENOENT', 'open', path);
    if (this.directories.has(absolute)) throw fileSystemError('EISDIR', 'open', path);
    const name = posix.basename(absolute);
    let inode = directory.volatileEntries.get(name);
    if (mode === 'create-exclusive') {
      if (inode !== undefined) throw fileSystemError('EEXIST', 'open', path);
      inode = new SimInode();
      directory.volatileEntries.set(name, inode);
      this.record({ kind: 'link', sequence: this.nextSequence++, inode, path: absolute, writeBytes: 0, durable: false, directory, name }, [directory]);
    } else if (inode === undefined) {
      throw fileSystemError('ENOENT', 'open', path);
    }
    return new SimFileHandle(path, inode, mode !== 'read', this.incarnation, this.handleHost);
  }

  async readdir(dir: string): Promise<string[]> {
    const absolute = normalize(dir);
    const directory = this.directories.get(absolute);
    if (directory === undefined) throw fileSystemError(this.isFile(absolute) ? 'ENOTDIR' : 'ENOENT', 'scandir', dir);
    const names = [...directory.volatileEntries.keys()];
    for (const other of this.directories.keys()) if (other !== '/' && posix.dirname(other) === absolute) names.push(posix.basename(other));
    return names.sort();
  }

  /** Durable at once (see the top of this file). */
  async mkdir(dir: string): Promise<void> {
    const absolute = normalize(dir);
    const missing: string[] = [];
    for (let path = absolute; !this.directories.has(path); path = posix.dirname(path)) {
      if (this.isFile(path)) throw fileSystemError(path === absolute ? 'EEXIST' : 'ENOTDIR', 'mkdir', dir);
      missing.push(path);
    }
    for (const path of missing.reverse()) this.directories.set(path, { path, volatileEntries: new Map(), durableEntries: new Map(), pending: [] });
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    // Checked against the target path, as FaultInjectingFileOps does.
    this.throwIfFaulted('rename', toPath);
    const fromAbsolute = normalize(fromPath);
    const toAbsolute = normalize(toPath);
    // Errors name the source path, as Node's do.
    if (this.directories.has(fromAbsolute)) throw fileSystemError('ENOTSUP', 'rename', fromPath, 'renaming directories is not modelled');
    const from = this.directories.get(posix.dirname(fromAbsolute));
    const fromName = posix.basename(fromAbsolute);
    const inode = from?.volatileEntries.get(fromName);
    if (from === undefined || inode === undefined) throw fileSystemError('ENOENT', 'rename', fromPath);
    const to = this.directories.get(posix.dirname(toAbsolute));
    if (to === undefined) throw fileSystemError('ENOENT', 'rename', fromPath);
    if (this.directories.has(toAbsolute)) throw fileSystemError('EISDIR', 'rename', fromPath);
    if (fromAbsolute === toAbsolute) return;
    const toName = posix.basename(toAbsolute);
    const replaced = to.volatileEntries.get(toName);
    if (replaced !== undefined) this.uncharge(replaced);
    from.volatileEntries.delete(fromName);
    to.volatileEntries.set(toName, inode);
    this.record(
      { kind: 'rename', sequence: this.nextSequence++, inode, path: toAbsolute, writeBytes: 0, durable: false, from, fromName, to, toName },
      from === to ? [from] : [from, to],
    );
  }

  async unlink(path: string): Promise<void> {
    this.throwIfFaulted('unlink', path);
    const absolute = normalize(path);
    if (this.directories.has(absolute)) throw fileSystemError('EISDIR', 'unlink', path);
    const directory = this.directories.get(posix.dirname(absolute));
    const name = posix.basename(absolute);
    const inode = directory?.volatileEntries.get(name);
    if (directory === undefined || inode === undefined) throw fileSystemError('ENOENT', 'unlink', path);
    directory.volatileEntries.delete(name);
    this.uncharge(inode);
    this.record({ kind: 'unlink', sequence: this.nextSequence++, inode, path: absolute, writeBytes: 0, durable: false, directory, name }, [directory]);
  }

  syncDirectory(dir: string): Promise<void> {
    const absolute = normalize(dir);
    const directory = this.directories.get(absolute);
    if (directory === undefined) return Promise.reject(fileSystemError(this.isFile(absolute) ? 'ENOTDIR' : 'ENOENT', 'open', dir));
    const fault = this.fault('syncDirectory', dir, 0);
    const mark = this.nextSequence;
    return this.afterSyncLatency(() => {
      if (fault !== null) throw systemError(fault.code, 'syncDirectory', dir);
      this.makeDurable(directory.pending, mark);
      this.counters.directorySyncs++;
    });
  }

  readSync(path: string, target: Uint8Array, positionBytes: number): number {
    // A 'read' fault applies here as it does around real files.
    this.throwIfFaulted('read', path);
    checkPosition(positionBytes, 'read position', path);
    const absolute = normalize(path);
    if (this.directories.has(absolute)) throw fileSystemError('EISDIR', 'read', path);
    const inode = this.directories.get(posix.dirname(absolute))?.volatileEntries.get(posix.basename(absolute));
    if (inode === undefined) throw fileSystemError('ENOENT', 'open', path);
    return inode.volatile.read(target, positionBytes);
  }

  /**
   * The storage layer's clock on the simulation's scheduler. Delays belong to the current
   * incarnation: after a crash they never resolve.
   */
  clock(): StorageClock {
    const incarnation = this.incarnation;
    return {
      nowUs: () => this.scheduler.nowUs(),
      delayMs: (ms) =>
        new Promise<void>((resolve) => {
          if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`delayMs needs a finite non-negative number of milliseconds, got ${ms}`);
          this.scheduler.after(Math.round(ms * 1000), () => {
            if (this.incarnation === incarnation) resolve();
          });
        }),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Handles
  // -------------------------------------------------------------------------------------------

  private checkHandle(handle: SimFileHandle, syscall: string, needsWrite: boolean): void {
    if (handle.incarnation !== this.incarnation) throw fileSystemError('EBADF', syscall, handle.path, 'the handle was opened before a crash');
    if (handle.closed) throw fileSystemError('EBADF', syscall, handle.path, 'file closed');
    if (needsWrite && !handle.writable) throw fileSystemError('EBADF', syscall, handle.path, 'the handle was opened read-only');
  }

  private async writeFile(handle: SimFileHandle, data: Uint8Array, positionBytes: number): Promise<void> {
    this.checkHandle(handle, 'write', true);
    checkPosition(positionBytes, 'write position', handle.path);
    const fault = this.fault('write', handle.path, data.byteLength);
    if (fault !== null) {
      if (fault.partialWriteBytes > 0) this.writeWhatFits(handle, data.subarray(0, fault.partialWriteBytes), positionBytes);
      throw systemError(fault.code, 'write', handle.path);
    }
    if (this.writeWhatFits(handle, data, positionBytes) < data.byteLength) {
      throw fileSystemError('ENOSPC', 'write', handle.path, `the disk's ${this.capacityBytes} bytes are used up`);
    }
  }

  /** Writes as much of `data` as capacity allows (a short write); returns how many bytes. */
  private writeWhatFits(handle: SimFileHandle, data: Uint8Array, positionBytes: number): number {
    const inode = handle.inode;
    const lengthBytes = inode.volatile.lengthBytes;
    let writeBytes = data.byteLength;
    const growthBytes = positionBytes + writeBytes - lengthBytes;
    if (inode.charged && growthBytes > 0 && this.usedBytesValue + growthBytes > this.capacityBytes) {
      const fitEnd = lengthBytes + Math.max(0, this.capacityBytes - this.usedBytesValue);
      writeBytes = Math.max(0, Math.min(writeBytes, fitEnd - positionBytes));
    }
    if (writeBytes === 0) return 0;
    // One copy, shared by the volatile layer (now) and the durable layer (at sync or crash).
    const bytes = data.slice(0, writeBytes);
    inode.volatile.write(bytes, positionBytes);
    if (inode.charged) this.usedBytesValue += inode.volatile.lengthBytes - lengthBytes;
    this.counters.writes++;
    this.counters.bytesWritten += writeBytes;
    const operation: UnsyncedOperation = { kind: 'write', sequence: this.nextSequence++, inode, path: handle.path, writeBytes, durable: false, offsetBytes: positionBytes, bytes };
    inode.pending.push(operation);
    this.record(operation, null);
    return writeBytes;
  }

  private async readFile(handle: SimFileHandle, target: Uint8Array, positionBytes: number): Promise<number> {
    this.checkHandle(handle, 'read', false);
    this.throwIfFaulted('read', handle.path);
    checkPosition(positionBytes, 'read position', handle.path);
    return handle.inode.volatile.read(target, positionBytes);
  }

  private syncFile(handle: SimFileHandle, operation: 'datasync' | 'sync'): Promise<void> {
    try {
      this.checkHandle(handle, operation === 'datasync' ? 'fdatasync' : 'fsync', false);
    } catch (error) {
      return Promise.reject(error);
    }
    const fault = this.fault(operation, handle.path, 0);
    const mark = this.nextSequence;
    const inode = handle.inode;
    return this.afterSyncLatency(() => {
      // A failed sync makes nothing durable: what it covered stays unsynced (a crash may keep or lose it).
      if (fault !== null) throw systemError(fault.code, operation, handle.path);
      this.makeDurable(inode.pending, mark);
      this.counters.syncs++;
    });
  }

  private async truncateFile(handle: SimFileHandle, lengthBytes: number): Promise<void> {
    this.checkHandle(handle, 'ftruncate', false);
    if (!handle.writable) throw fileSystemError('EINVAL', 'ftruncate', handle.path, 'the handle was opened read-only');
    this.throwIfFaulted('truncate', handle.path);
    checkPosition(lengthBytes, 'truncate length', handle.path);
    const inode = handle.inode;
    const growthBytes = lengthBytes - inode.volatile.lengthBytes;
    if (inode.charged && growthBytes > 0 && this.usedBytesValue + growthBytes > this.capacityBytes) {
      throw fileSystemError('ENOSPC', 'ftruncate', handle.path, `the disk's ${this.capacityBytes} bytes are used up`);
    }
    inode.volatile.truncate(lengthBytes);
    if (inode.charged) this.usedBytesValue += growthBytes;
    const operation: UnsyncedOperation = { kind: 'truncate', sequence: this.nextSequence++, inode, path: handle.path, writeBytes: 0, durable: false, lengthBytes };
    inode.pending.push(operation);
    this.record(operation, null);
  }

  private async fileSize(handle: SimFileHandle): Promise<number> {
    this.checkHandle(handle, 'fstat', false);
    return handle.inode.volatile.lengthBytes;
  }

  private async closeFile(handle: SimFileHandle): Promise<void> {
    if (handle.incarnation !== this.incarnation) throw fileSystemError('EBADF', 'close', handle.path, 'the handle was opened before a crash');
    // Closing twice is harmless, as with a Node FileHandle.
    handle.closed = true;
  }

  // -------------------------------------------------------------------------------------------
  // Durability
  // -------------------------------------------------------------------------------------------

  private syncLatencyUs(): number {
    return this.prng.nextInt(this.syncLatencyUsMin, this.syncLatencyUsMax + 1);
  }

  /** Runs `complete` after a seeded latency and settles with its outcome — unless a crash came first (then never). */
  private afterSyncLatency(complete: () => void): Promise<void> {
    const incarnation = this.incarnation;
    const latencyUs = this.syncLatencyUs();
    this.syncsInFlightCount++;
    this.onSyncStarted?.(latencyUs);
    return new Promise<void>((resolve, reject) => {
      this.scheduler.after(latencyUs, () => {
        if (this.incarnation !== incarnation) return;
        this.syncsInFlightCount--;
        try {
          complete();
          resolve();
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  private record(operation: UnsyncedOperation, directories: readonly Directory[] | null): void {
    if (directories !== null) for (const directory of directories) directory.pending.push(operation);
    this.log.push(operation);
    this.unsyncedCount++;
  }

  /** Applies, in order, the operations of `pending` issued before `mark`, and drops them from it. */
  private makeDurable(pending: UnsyncedOperation[], mark: number): void {
    let count = 0;
    while (count < pending.length && pending[count]!.sequence < mark) {
      const operation = pending[count++]!;
      if (!operation.durable) this.applyDurably(operation, null);
    }
    if (count === 0) return;
    pending.splice(0, count);
    this.compactLog();
  }

  /** Puts one operation (or, with `tornBytes`, that many bytes of a write) into the durable layer. */
  private applyDurably(operation: UnsyncedOperation, tornBytes: number | null): void {
    switch (operation.kind) {
      case 'write':
        operation.inode.durable.write(tornBytes === null ? operation.bytes : operation.bytes.subarray(0, tornBytes), operation.offsetBytes);
        break;
      case 'truncate':
        operation.inode.durable.truncate(operation.lengthBytes);
        break;
      case 'link':
        operation.directory.durableEntries.set(operation.name, operation.inode);
        break;
      case 'unlink':
        if (operation.directory.durableEntries.get(operation.name) === operation.inode) operation.directory.durableEntries.delete(operation.name);
        break;
      case 'rename':
        operation.to.durableEntries.set(operation.toName, operation.inode);
        if (operation.from.durableEntries.get(operation.fromName) === operation.inode) operation.from.durableEntries.delete(operation.fromName);
        break;
    }
    operation.durable = true;
    this.unsyncedCount--;
  }

  /** Drops durable operations from the log's head, and rebuilds it when they are most of it. */
  private compactLog(): void {
    const log = this.log;
    while (this.logHead < log.length && log[this.logHead]!.durable) this.logHead++;
    if (this.logHead === log.length) {
      log.length = 0;
      this.logHead = 0;
    } else if (log.length - this.logHead > LOG_COMPACTION_LENGTH_MIN && this.unsyncedCount * 2 < log.length - this.logHead) {
      this.log = log.slice(this.logHead).filter((operation) => !operation.durable);
      this.logHead = 0;
    } else if (this.logHead > LOG_COMPACTION_LENGTH_MIN && this.logHead * 2 > log.length) {
      this.log = log.slice(this.logHead);
      this.logHead = 0;
    }
  }

  private uncharge(inode: SimInode): void {
    if (!inode.charged) return;
    inode.charged = false;
    this.usedBytesValue -= inode.volatile.lengthBytes;
  }

  private isFile(absolute: string): boolean {
    return this.directories.get(posix.dirname(absolute))?.volatileEntries.has(posix.basename(absolute)) ?? false;
  }

  // -------------------------------------------------------------------------------------------
  // Crash
  // -------------------------------------------------------------------------------------------

  /**
   * Power loss. Afterwards the file system holds the durable layer plus what `cut` keeps of the
   * unsynced operations (a prefix in issue order, see file-system-crash.ts); pending syncs and
   * delays never settle, and handles opened before now reject every call with EBADF. Draws from
   * `prng` (the simulation's crash stream), not the file system's own.
   */
  crash(prng: Prng, cut: FileSystemCrashCut): FileSystemCrashOutcome {
    const unsynced: UnsyncedOperation[] = [];
    for (let k = this.logHead; k < this.log.length; k++) if (!this.log[k]!.durable) unsynced.push(this.log[k]!);
    const decision = chooseCrashCut(unsynced, prng, cut);
    for (let k = 0; k < decision.keptOperations; k++) this.applyDurably(unsynced[k]!, null);
    let tornWrite: FileSystemCrashOutcome['tornWrite'] = null;
    if (decision.tornBytes !== null) {
      const torn = unsynced[decision.keptOperations]!;
      this.applyDurably(torn, decision.tornBytes);
      tornWrite = { path: torn.path, keptBytes: decision.tornBytes, writeBytes: torn.writeBytes };
      this.counters.tornWrites++;
    }

    this.incarnation++;
    const abandonedSyncs = this.syncsInFlightCount;
    this.syncsInFlightCount = 0;
    this.log = [];
    this.logHead = 0;
    this.unsyncedCount = 0;
    this.usedBytesValue = 0;
    for (const directory of this.directories.values()) {
      directory.pending = [];
      directory.volatileEntries = new Map(directory.durableEntries);
      for (const inode of directory.durableEntries.values()) {
        inode.volatile = inode.durable.copy();
        inode.pending = [];
        inode.charged = true;
        this.usedBytesValue += inode.volatile.lengthBytes;
      }
    }

    this.counters.crashes++;
    this.counters.lostOperations += unsynced.length - decision.keptOperations;
    this.counters.abandonedSyncs += abandonedSyncs;
    return { cut: cut.kind, unsyncedOperations: unsynced.length, keptOperations: decision.keptOperations, tornWrite, abandonedSyncs };
  }

  // -------------------------------------------------------------------------------------------
  // Introspection (for checkers and tests)
  // -------------------------------------------------------------------------------------------

  /** True while some write, truncate or directory change would be at the mercy of a crash's cut. */
  hasUnsyncedWrites(): boolean {
    return this.unsyncedCount > 0;
  }

  get unsyncedOperationCount(): number {
    return this.unsyncedCount;
  }

  get syncsInFlight(): number {
    return this.syncsInFlightCount;
  }

  /** Every file named in either layer, by path, with its size in each. */
  fileStates(): SimFileState[] {
    const states: SimFileState[] = [];
    for (const directory of this.directories.values()) {
      const names = new Set([...directory.volatileEntries.keys(), ...directory.durableEntries.keys()]);
      for (const name of names) {
        states.push({
          path: posix.join(directory.path, name),
          volatileBytes: directory.volatileEntries.get(name)?.volatile.lengthBytes ?? null,
          durableBytes: directory.durableEntries.get(name)?.durable.lengthBytes ?? null,
        });
      }
    }
    return states.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** A copy of what a crash that keeps nothing unsynced would leave at `path`, or null (no durable file there). */
  readDurable(path: string): Uint8Array | null {
    const absolute = normalize(path);
    return this.directories.get(posix.dirname(absolute))?.durableEntries.get(posix.basename(absolute))?.durable.view().slice() ?? null;
  }

  /** SHA-256 (hex) of the durable layer — every directory, and every durably named file's durable bytes — independent of history and buffer sizes. */
  durableDigest(): string {
    const hash = createHash('sha256');
    const length = new Uint8Array(8);
    const lengthView = new DataView(length.buffer);
    for (const path of [...this.directories.keys()].sort()) {
      const directory = this.directories.get(path)!;
      hash.update(`d ${path}\n`);
      for (const name of [...directory.durableEntries.keys()].sort()) {
        const content = directory.durableEntries.get(name)!.durable.view();
        lengthView.setFloat64(0, content.byteLength);
        hash.update(`f ${name}\n`).update(length).update(content);
      }
    }
    return hash.digest('hex');
  }
}
