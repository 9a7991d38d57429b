// The thin seam between the storage layer and the file system: the few calls the write-ahead log
// and the snapshot store make, behind one interface. `realFileOps` goes straight to node:fs;
// `FaultInjectingFileOps` wraps the real one and makes chosen calls fail (ENOSPC, EIO, a short
// write that leaves part of the buffer on disk) so tests exercise the real files and the real
// error paths — nothing else about the store is faked.

import { closeSync, openSync, readSync } from 'node:fs';
import { open as fsOpen, readdir as fsReaddir, mkdir as fsMkdir, rename as fsRename, unlink as fsUnlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

export type OpenMode =
  /** Read only; the file must exist. */
  | 'read'
  /** Read and write at explicit positions; the file must exist. */
  | 'read-write'
  /** Create a new file for reading and writing; fails if it exists. */
  | 'create-exclusive';

export interface StorageFile {
  readonly path: string;
  /** Writes all of `data` at `positionBytes`, or throws (possibly after part of it reached the file). */
  write(data: Uint8Array, positionBytes: number): Promise<void>;
  /** Reads up to target.byteLength bytes at `positionBytes`; returns how many were read (0 at end of file). */
  read(target: Uint8Array, positionBytes: number): Promise<number>;
  /** fdatasync: the data and the metadata needed to read it back (the size) are durable. */
  datasync(): Promise<void>;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  truncate(lengthBytes: number): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface FileOps {
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and its parents if missing. */
  mkdir(dir: string): Promise<void>;
  rename(fromPath: string, toPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes a created, renamed or removed name durable. */
  syncDirectory(dir: string): Promise<void>;
  /**
   * Reads up to target.byteLength bytes of `path` at `positionBytes`, synchronously; returns how
   * many were read. For the rare read-back of log entries the Raft core no longer holds (its API
   * is synchronous); the bytes were written and synced earlier, so this is a page-cache read.
   */
  readSync(path: string, target: Uint8Array, positionBytes: number): number;
}

/** Bound on retries of a write that makes progress in pieces (a short write is legal POSIX). */
const WRITE_PIECES_MAX = 1024;

class RealStorageFile implements StorageFile {
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  async write(data: Uint8Array, positionBytes: number): Promise<void> {
    let writtenBytes = 0;
    for (let piece = 0; writtenBytes < data.byteLength; piece++) {
      if (piece >= WRITE_PIECES_MAX) throw new Error(`write to ${this.path} made no progress after ${piece} pieces`);
      const { bytesWritten } = await this.handle.write(data, writtenBytes, data.byteLength - writtenBytes, positionBytes + writtenBytes);
      writtenBytes += bytesWritten;
    }
  }

  async read(target: Uint8Array, positionBytes: number): Promise<number> {
    const { bytesRead } = await this.handle.read(target, 0, target.byteLength, positionBytes);
    return bytesRead;
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  sync(): Promise<void> {
    return this.handle.sync();
  }

  truncate(lengthBytes: number): Promise<void> {
    return this.handle.truncate(lengthBytes);
  }

  async sizeBytes(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const OPEN_FLAGS: Record<OpenMode, string> = { read: 'r', 'read-write': 'r+', 'create-exclusive': 'wx+' };

export const realFileOps: FileOps = {
  async open(path, mode) {
    return new RealStorageFile(path, await fsOpen(path, OPEN_FLAGS[mode]));
  },
  readdir(dir) {
    return fsReaddir(dir);
  },
  async mkdir(dir) {
    await fsMkdir(dir, { recursive: true });
  },
  rename(fromPath, toPath) {
    return fsRename(fromPath, toPath);
  },
  unlink(path) {
    return fsUnlink(path);
  },
  async syncDirectory(dir) {
    const handle = await fsOpen(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  readSync(path, target, positionBytes) {
    const fd = openSync(path, 'r');
    try {
      let readBytes = 0;
      while (readBytes < target.byteLength) {
        const bytes = readSync(fd, target, readBytes, target.byteLength - readBytes, positionBytes + readBytes);
        if (bytes === 0) break;
        readBytes += bytes;
      }
      return readBytes;
    } finally {
      closeSync(fd);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------

export type FileOperation = 'open' | 'write' | 'read' | 'datasync' | 'sync' | 'truncate' | 'rename' | 'unlink' | 'syncDirectory';

export interface FaultRule {
  readonly operation: FileOperation;
  /** Only calls whose path contains this string match (all calls if absent). */
  readonly pathIncludes?: string;
  /** Let this many matching calls through before the first failure (default 0). */
  readonly skipCalls?: number;
  /** How many matching calls fail once failing starts (default 1). */
  readonly failCalls?: number;
  /** The error code the failure carries, e.g. 'ENOSPC', 'EIO'. */
  readonly code: string;
  /** For 'write': write this many bytes of the buffer for real before failing (a torn write). */
  readonly partialWriteBytes?: number;
}

export interface InjectedFault {
  readonly operation: FileOperation;
  readonly path: string;
  readonly code: string;
}

/** A Node-style system error, as the real call would raise it. */
export function systemError(code: string, operation: string, path: string): Error {
  const error = new Error(`${code}: injected failure, ${operation} '${path}'`) as Error & { code: string; syscall: string; path: string };
  error.code = code;
  error.syscall = operation;
  error.path = path;
  return error;
}

interface RuleState {
  readonly rule: FaultRule;
  matchedCalls: number;
}

/** Wraps a FileOps (normally the real one) and fails the calls its rules select. */
export class FaultInjectingFileOps implements FileOps {
  private readonly rules: RuleState[] = [];
  readonly injected: InjectedFault[] = [];

  constructor(
    private readonly inner: FileOps,
    rules: readonly FaultRule[] = [],
  ) {
    for (const rule of rules) this.addRule(rule);
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ rule, matchedCalls: 0 });
  }

  clearRules(): void {
    this.rules.length = 0;
  }

  /** The rule that fails this call, if any (and counts the call against every matching rule). */
  fault(operation: FileOperation, path: string): FaultRule | null {
    let failing: FaultRule | null = null;
    for (const state of this.rules) {
      const { rule } = state;
      if (rule.operation !== operation) continue;
      if (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes)) continue;
      const callNumber = state.matchedCalls++;
      const skip = rule.skipCalls ?? 0;
      const fail = rule.failCalls ?? 1;
      if (failing === null && callNumber >= skip && callNumber < skip + fail) failing = rule;
    }
    if (failing !== null) this.injected.push({ operation, path, code: failing.code });
    return failing;
  }

  private check(operation: FileOperation, path: string): void {
    const rule = this.fault(operation, path);
    if (rule !== null) throw systemError(rule.code, operation, path);
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    this.check('open', path);
    return new FaultInjectingFile(await this.inner.open(path, mode), this);
  }
  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.inner.mkdir(dir);
  }
  async rename(fromPath: string, toPath: string): Promise<void> {
    this.check('rename', toPath);
    return this.inner.rename(fromPath, toPath);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.inner.unlink(path);
  }
  async syncDirectory(dir: string): Promise<void> {
    this.check('syncDirectory', dir);
    return this.inner.syncDirectory(dir);
  }
  readSync(path: string, target: Uint8Array, positionBytes: number): number {
    this.check('read', path);
    return this.inner.readSync(path, target, positionBytes);
  }
}

class FaultInjectingFile implements StorageFile {
  readonly path: string;
  constructor(
    private readonly inner: StorageFile,
    private readonly faults: FaultInjectingFileOps,
  ) {
    this.path = inner.path;
  }

  private check(operation: FileOperation): void {
    const rule = this.faults.fault(operation, this.path);
    if (rule !== null) throw systemError(rule.code, operation, this.path);
  }

  async write(data: Uint8Array, positionBytes: number): Promise<void> {
    const rule = this.faults.fault('write', this.path);
    if (rule === null) return this.inner.write(data, positionBytes);
    const partialBytes = Math.min(rule.partialWriteBytes ?? 0, data.byteLength);
    if (partialBytes > 0) await this.inner.write(data.subarray(0, partialBytes), positionBytes);
    throw systemError(rule.code, 'write', this.path);
  }
  async read(target: Uint8Array, positionBytes: number): Promise<number> {
    this.check('read');
    return this.inner.read(target, positionBytes);
  }
  async datasync(): Promise<void> {
    this.check('datasync');
    return this.inner.datasync();
  }
  async sync(): Promise<void> {
    this.check('sync');
    return this.inner.sync();
  }
  async truncate(lengthBytes: number): Promise<void> {
    this.check('truncate');
    return this.inner.truncate(lengthBytes);
  }
  sizeBytes(): Promise<number> {
    return this.inner.sizeBytes();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
