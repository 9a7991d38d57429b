// A simulated file's content (one layer of it: volatile or durable): a byte array that grows by
// doubling, because files grow by appends and re-allocating on every write would make a log of n
// records cost O(n²) in copying. The one subtle thing: the bytes between the length and the
// capacity are kept zero at all times, so growing a file — by a write past its end or by a
// truncate upwards — exposes zeros, as a sparse file reads, without a fill on the hot path.

/** Smallest allocation, so that a file's first few records do not each re-allocate. */
const CAPACITY_BYTES_MIN = 256;

export class FileBytes {
  private bytes: Uint8Array;
  private length = 0;

  constructor(capacityBytes = 0) {
    this.bytes = new Uint8Array(capacityBytes);
  }

  get lengthBytes(): number {
    return this.length;
  }

  /** Writes `source` at `offsetBytes`, growing the file (with zeros before it, if past the end). */
  write(source: Uint8Array, offsetBytes: number): void {
    const end = offsetBytes + source.byteLength;
    this.reserve(end);
    this.bytes.set(source, offsetBytes);
    if (end > this.length) this.length = end;
  }

  /** Copies up to target.byteLength bytes from `offsetBytes`; returns how many (0 at or past the end). */
  read(target: Uint8Array, offsetBytes: number): number {
    if (offsetBytes >= this.length) return 0;
    const count = Math.min(target.byteLength, this.length - offsetBytes);
    target.set(this.bytes.subarray(offsetBytes, offsetBytes + count));
    return count;
  }

  truncate(lengthBytes: number): void {
    if (lengthBytes < this.length) this.bytes.fill(0, lengthBytes, this.length);
    else this.reserve(lengthBytes);
    this.length = lengthBytes;
  }

  /** An independent copy sized to the content (a crash copies the durable layer into the volatile one). */
  copy(): FileBytes {
    const copy = new FileBytes(this.length);
    copy.bytes.set(this.bytes.subarray(0, this.length));
    copy.length = this.length;
    return copy;
  }

  /** The content as a view (valid until the next write or truncate); callers must not modify it. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(neededBytes: number): void {
    if (neededBytes <= this.bytes.byteLength) return;
    let capacityBytes = Math.max(CAPACITY_BYTES_MIN, this.bytes.byteLength * 2);
    while (capacityBytes < neededBytes) capacityBytes *= 2;
    const grown = new Uint8Array(capacityBytes);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}
