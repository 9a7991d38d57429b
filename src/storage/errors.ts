// Errors the storage layer raises. Each names the file and byte offset (or the option field) it is
// about, so an operator can act on it without a debugger.

/** A storage option was rejected; `field` is its path in the profile, e.g. `storage.logCodec`. */
export class StorageOptionsError extends Error {
  override readonly name = 'StorageOptionsError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid storage option ${field}: ${reason}`);
  }
}

/**
 * Stored bytes failed a check (checksum, framing, sequence) somewhere other than a torn tail.
 * Opening refuses to go on; `repair: true` truncates at `offsetBytes` and says what that loses.
 */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';
  constructor(
    readonly file: string,
    readonly offsetBytes: number,
    readonly reason: string,
  ) {
    super(`corrupt storage file ${file} at byte offset ${offsetBytes}: ${reason}`);
  }
}

/**
 * A WAL segment written in a format version this build does not read. Not damage: the bytes may
 * be intact, so opening refuses even with `repair` (which would otherwise truncate the whole
 * segment) and nothing is misread as the current format.
 */
export class StorageFormatError extends Error {
  override readonly name = 'StorageFormatError';
  constructor(
    readonly file: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `unsupported WAL format in ${file}: segment header says format version ${foundVersion}, this build reads only version ${supportedVersion} ` +
        `(no conversion exists; open it with the build that wrote it, or start from an empty directory)`,
    );
  }
}

/**
 * A write or sync failed (ENOSPC, EIO, …). The write-ahead log stops accepting appends after one
 * of these: after a failed fsync the kernel may already have dropped the dirty pages, so nothing
 * written since the last good sync can be trusted until the log is reopened and re-scanned
 * (the lesson of PostgreSQL's "fsyncgate"). Reads of what is held in memory keep working.
 */
export class StorageIoError extends Error {
  override readonly name = 'StorageIoError';
  constructor(
    readonly operation: string,
    readonly file: string,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`storage ${operation} failed on ${file} (${code}): ${detail}`);
  }
}

/** An append or compaction asked for something the log cannot do (a gap, below the snapshot, after close). */
export class StorageUsageError extends Error {
  override readonly name = 'StorageUsageError';
  constructor(readonly reason: string) {
    super(`storage misuse: ${reason}`);
  }
}

/** The error code of a Node system error (ENOSPC, EIO …), or 'UNKNOWN'. */
export function errorCodeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'UNKNOWN';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
