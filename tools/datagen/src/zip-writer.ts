/**
 * A streaming writer of zip archives with stored (uncompressed) entries, for image trees of hundreds of thousands
 * of files (CC-3M's `images.zip` has about 500K). General zip libraries keep a per-entry queue that makes such
 * archives take quadratic time; this one writes each entry at once and keeps only the central directory records.
 * ZIP64 records are written when the archive needs them (more than 65,535 entries, or offsets past 4 GiB), or always
 * with `zip64: 'always'`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { crc32 } from './crc32.js';

const BUFFER_BYTES = 1 << 20;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/** Options of {@link StoredZipWriter}. */
export interface StoredZipWriterOptions {
  /** `auto` (default): ZIP64 records only where needed; `always`: also for small archives (for tests). */
  readonly zip64?: 'auto' | 'always';
  /** Modification time of every entry. Default 2023-04-01 00:00. */
  readonly mtime?: Date;
}

export class StoredZipWriter {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(BUFFER_BYTES);
  private used = 0;
  private offset = 0;
  private readonly central: Buffer[] = [];
  private count = 0;
  private readonly always: boolean;
  private readonly time: number;
  private readonly date: number;

  constructor(path: string, options: StoredZipWriterOptions = {}) {
    this.fd = openSync(path, 'w');
    this.always = options.zip64 === 'always';
    const m = options.mtime ?? new Date(2023, 3, 1);
    this.time = (m.getHours() << 11) | (m.getMinutes() << 5) | (m.getSeconds() >> 1);
    this.date = ((m.getFullYear() - 1980) << 9) | ((m.getMonth() + 1) << 5) | m.getDate();
  }

  /** Add one file (`name` with `/` separators, UTF-8). */
  add(name: string, bytes: Uint8Array): void {
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(bytes);
    const size = bytes.length;
    if (size >= MAX32) throw new Error(`zip entry ${name} is too large for this writer`);
    const at = this.offset;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(this.time, 10);
    local.writeUInt16LE(this.date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    this.write(local);
    this.write(nameBytes);
    this.write(bytes);

    const wide = this.always || at >= MAX32;
    const extra = wide ? Buffer.alloc(12) : Buffer.alloc(0);
    if (wide) {
      extra.writeUInt16LE(0x0001, 0); // ZIP64 extended information
      extra.writeUInt16LE(8, 2);
      extra.writeBigUInt64LE(BigInt(at), 4);
    }
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE((3 << 8) | (wide ? 45 : 20), 4); // made by Unix
    record.writeUInt16LE(wide ? 45 : 20, 6);
    record.writeUInt16LE(0x0800, 8);
    record.writeUInt16LE(0, 10);
    record.writeUInt16LE(this.time, 12);
    record.writeUInt16LE(this.date, 14);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(size, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(nameBytes.length, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt16LE(0, 32); // comment
    record.writeUInt16LE(0, 34); // disk
    record.writeUInt16LE(0, 36); // internal attributes
    record.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    record.writeUInt32LE(wide ? MAX32 : at, 42);
    this.central.push(record, nameBytes, extra);
    this.count++;
  }

  /** Write the central directory and close the file; returns the number of entries. */
  close(): number {
    const start = this.offset;
    for (const part of this.central) this.write(part);
    const size = this.offset - start;
    const wide = this.always || this.count > MAX16 || start >= MAX32 || size >= MAX32;
    if (wide) {
      const end64At = this.offset;
      const end64 = Buffer.alloc(56);
      end64.writeUInt32LE(0x06064b50, 0);
      end64.writeBigUInt64LE(44n, 4); // size of the rest of this record
      end64.writeUInt16LE((3 << 8) | 45, 12);
      end64.writeUInt16LE(45, 14);
      end64.writeUInt32LE(0, 16); // this disk
      end64.writeUInt32LE(0, 20); // disk with the central directory
      end64.writeBigUInt64LE(BigInt(this.count), 24);
      end64.writeBigUInt64LE(BigInt(this.count), 32);
      end64.writeBigUInt64LE(BigInt(size), 40);
      end64.writeBigUInt64LE(BigInt(start), 48);
      this.write(end64);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(0, 4);
      locator.writeBigUInt64LE(BigInt(end64At), 8);
      locator.writeUInt32LE(1, 16); // total disks
      this.write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(wide ? MAX16 : this.count, 8);
    end.writeUInt16LE(wide ? MAX16 : this.count, 10);
    end.writeUInt32LE(wide ? MAX32 : size, 12);
    end.writeUInt32LE(wide ? MAX32 : start, 16);
    end.writeUInt16LE(0, 20);
    this.write(end);
    this.flush();
    closeSync(this.fd);
    return this.count;
  }

  private write(bytes: Uint8Array): void {
    this.offset += bytes.length;
    if (bytes.length > BUFFER_BYTES - this.used) {
      this.flush();
      if (bytes.length > BUFFER_BYTES) {
        writeAll(this.fd, bytes);
        return;
      }
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.length;
  }

  private flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
