import { closeSync, promises as fsp, openSync, read as readCallback, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createInflateRaw } from 'node:zlib';
import { DEFAULT_MAX_IMAGE_BYTES, ImageReadRefused, tooLarge } from './confined.js';
import type { HeadTail } from './headtail.js';
import {
  type CentralDirectory,
  LOCAL,
  locateCentralDirectory,
  parseCentralDirectory,
  singleTopFolder,
  type UnsafeZipEntry,
  zipNameRules,
} from './zip-directory.js';

const readAsync = promisify(readCallback);
/** Compressed bytes read, and inflated bytes produced, at a time. */
const READ_CHUNK = 64 * 1024;

export type { UnsafeZipEntry } from './zip-directory.js';

/** One file inside a zip archive, as indexed from its central directory. */
export interface ZipEntryInfo {
  /** The entry name, `/`-separated. */
  readonly name: string;
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** Compressed size in bytes. */
  readonly compressedSize: number;
  /** 0 = stored, 8 = deflated. */
  readonly compressionMethod: number;
}

/** Local header bytes read along with an entry's data: the fixed part, the name, and room for a usual extra field. */
const LOCAL_SLACK = 30 + 512;

/**
 * A zip archive opened once: its central directory is parsed into compact tables (name → entry number, offsets,
 * sizes) and entries are read on demand with positional reads, never extracted. Handles ZIP64 archives and entries,
 * data descriptors (sizes come from the central directory), stored and deflated entries, UTF-8 and CP437 names.
 * Names with `..` or absolute names are kept out of the index and listed in {@link ZipIndex.unsafe}. When every entry
 * lies under one top-level folder (`images/…`), lookups also match names without that folder.
 *
 * Built for archives such as CC-3M's `images.zip` (about 500K entries): opening it takes well under a second and
 * about 60 bytes per entry beyond the names; an entry's head and tail cost one or two reads.
 */
export class ZipIndex {
  /** Refused entries. */
  readonly unsafe: readonly UnsafeZipEntry[];
  /** The single top-level folder every entry lies under (without slash), or undefined. */
  readonly topFolder: string | undefined;
  /** Entry numbers by name. */
  private readonly byName: Map<string, number>;
  private readonly names: string[];
  private readonly localOffsets: Float64Array;
  private readonly sizes: Float64Array;
  private readonly compressedSizes: Float64Array;
  private readonly methods: Uint16Array;
  private readonly flags: Uint16Array;
  private readonly nameLengths: Uint16Array;
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
    table: CentralDirectory,
    private readonly dataEnd: number,
  ) {
    this.fd = fd;
    this.byName = table.byName;
    this.names = table.names;
    this.localOffsets = table.localOffsets;
    this.sizes = table.sizes;
    this.compressedSizes = table.compressedSizes;
    this.methods = table.methods;
    this.flags = table.flags;
    this.nameLengths = table.nameLengths;
    this.unsafe = table.unsafe;
    this.topFolder = singleTopFolder(table.names);
  }

  /** Open an archive and read its central directory. Rejects when the file is missing or not a zip archive. */
  static async open(path: string): Promise<ZipIndex> {
    const handle = await fsp.open(path, 'r');
    let table: CentralDirectory;
    let cdOffset: number;
    try {
      const size = (await handle.stat()).size;
      const end = await locateCentralDirectory(handle, size);
      cdOffset = end.offset;
      const cd = Buffer.allocUnsafe(end.size);
      const { bytesRead } = await handle.read(cd, 0, end.size, end.offset);
      if (bytesRead !== end.size) throw new Error('the central directory runs past the end of the file');
      table = parseCentralDirectory(cd, end.entries, await zipNameRules());
    } finally {
      await handle.close();
    }
    // A descriptor of our own for the positional reads (blocking ones included), closed by close().
    return new ZipIndex(path, openSync(path, 'r'), table, cdOffset);
  }

  /** How many entries the index holds (unsafe and directory entries excluded). */
  get size(): number {
    return this.names.length;
  }

  /** Every indexed entry name, in archive order. */
  entryNames(): readonly string[] {
    return this.names;
  }

  /** The entry number of a `/`-separated name (also tried under the archive's single top folder), or undefined. */
  find(name: string): number | undefined {
    return this.byName.get(name) ?? (this.topFolder ? this.byName.get(`${this.topFolder}/${name}`) : undefined);
  }

  /** The entry's name. */
  nameOf(entry: number): string {
    return this.names[entry]!;
  }

  /** The entry's uncompressed size in bytes. */
  sizeOf(entry: number): number {
    return this.sizes[entry]!;
  }

  /** The entry's facts. */
  info(entry: number): ZipEntryInfo {
    return {
      name: this.names[entry]!,
      size: this.sizes[entry]!,
      compressedSize: this.compressedSizes[entry]!,
      compressionMethod: this.methods[entry]!,
    };
  }

  /**
   * The entry's uncompressed bytes, read and inflated without blocking, in chunks: memory stays bounded by the entry's
   * declared size, and an entry that declares more than `maxBytes` (default 64 MiB) is refused before anything is
   * inflated. Inflating stops as soon as the output passes the declared size (a zip bomb with a lying size). Such
   * refusals throw an `ImageReadRefused` (`too-large`). The CRC is not checked.
   */
  async read(entry: number, maxBytes = DEFAULT_MAX_IMAGE_BYTES): Promise<Uint8Array> {
    const declared = this.sizes[entry]!;
    this.checkMethod(entry);
    if (declared > maxBytes) throw tooLarge(this.where(entry), declared, maxBytes, 'declares');
    const out = new Uint8Array(declared);
    let total = 0;
    for await (const chunk of this.chunks(entry)) {
      if (total + chunk.length > declared) throw this.overflow(entry);
      out.set(chunk, total);
      total += chunk.length;
    }
    if (total !== declared) {
      throw new Error(`entry ${this.names[entry]} inflates to ${total} bytes, the directory says ${declared}`);
    }
    return out;
  }

  /**
   * The head and tail of an entry without blocking: a stored entry costs two positional reads; a deflated one is
   * inflated in chunks keeping only the head and the last `tailBytes` (memory bounded by a small constant). Entries
   * that declare more than `maxBytes` or inflate past their declared size are refused like {@link read}.
   */
  async readHeadTail(
    entry: number,
    buffer: Uint8Array,
    headBytes: number,
    tailBytes: number,
    maxBytes = DEFAULT_MAX_IMAGE_BYTES,
  ): Promise<HeadTail> {
    const declared = this.sizes[entry]!;
    this.checkMethod(entry);
    const head = buffer.length >= headBytes ? buffer.subarray(0, headBytes) : new Uint8Array(headBytes);
    if (this.methods[entry] === 0) {
      const fd = this.descriptor();
      const start = await this.dataStartAsync(entry);
      const n = Math.min(declared, headBytes);
      const got = (await readAsync(fd, head, 0, n, start)).bytesRead;
      if (got < n) throw new Error(`entry ${this.names[entry]} runs past the end of the archive`);
      if (declared <= headBytes) return { head: head.subarray(0, n), tail: head.subarray(0, n), size: declared };
      const tail = new Uint8Array(Math.min(tailBytes, declared));
      const m = (await readAsync(fd, tail, 0, tail.length, start + declared - tail.length)).bytesRead;
      return { head, tail: tail.subarray(0, m), size: declared };
    }
    if (declared > maxBytes) throw tooLarge(this.where(entry), declared, maxBytes, 'declares');
    const ring = new Uint8Array(Math.max(1, tailBytes));
    let total = 0;
    for await (const chunk of this.chunks(entry)) {
      if (total + chunk.length > declared) throw this.overflow(entry);
      if (total < headBytes) head.set(chunk.subarray(0, headBytes - total), total);
      // Keep the last tailBytes in a ring (position = total mod ring length).
      const keep = chunk.length > ring.length ? chunk.subarray(chunk.length - ring.length) : chunk;
      let at = (total + chunk.length - keep.length) % ring.length;
      for (let i = 0; i < keep.length; ) {
        const n = Math.min(keep.length - i, ring.length - at);
        ring.set(keep.subarray(i, i + n), at);
        i += n;
        at = (at + n) % ring.length;
      }
      total += chunk.length;
    }
    if (total !== declared) {
      throw new Error(`entry ${this.names[entry]} inflates to ${total} bytes, the directory says ${declared}`);
    }
    if (total <= headBytes) return { head: head.subarray(0, total), tail: head.subarray(0, total), size: total };
    const t = Math.min(tailBytes, total);
    const tail = new Uint8Array(t);
    const end = total % ring.length;
    for (let i = 0; i < t; i++) tail[i] = ring[(end - t + i + ring.length * 2) % ring.length]!;
    return { head, tail, size: total };
  }

  /** The entry's data, uncompressed, in chunks: compressed bytes are read 64 KiB at a time and inflated as a stream. */
  private async *chunks(entry: number): AsyncGenerator<Uint8Array> {
    const fd = this.descriptor();
    const start = await this.dataStartAsync(entry);
    const compressedSize = this.compressedSizes[entry]!;
    const name = this.names[entry]!;
    async function* raw(): AsyncGenerator<Buffer> {
      for (let done = 0; done < compressedSize; ) {
        const want = Math.min(READ_CHUNK, compressedSize - done);
        const buffer = Buffer.allocUnsafe(want);
        const n = (await readAsync(fd, buffer, 0, want, start + done)).bytesRead;
        if (n === 0) throw new Error(`entry ${name} runs past the end of the archive`);
        done += n;
        yield buffer.subarray(0, n);
      }
    }
    if (this.methods[entry] === 0) {
      yield* raw();
      return;
    }
    const inflate = createInflateRaw({ chunkSize: READ_CHUNK });
    const source = Readable.from(raw(), { objectMode: false, highWaterMark: 1 });
    source.on('error', (error) => inflate.destroy(error));
    source.pipe(inflate);
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) yield chunk;
    } finally {
      source.destroy();
      inflate.destroy();
    }
  }

  /** Where an entry's data starts, read without blocking. */
  private async dataStartAsync(entry: number): Promise<number> {
    const offset = this.localOffsets[entry]!;
    const header = Buffer.allocUnsafe(30);
    const { bytesRead } = await readAsync(this.descriptor(), header, 0, 30, offset);
    return offset + this.checkLocal(entry, header, bytesRead);
  }

  private where(entry: number): string {
    return `${this.path}!${this.names[entry]}`;
  }

  private overflow(entry: number): Error {
    const declared = this.sizes[entry]!;
    return new ImageReadRefused(
      'too-large',
      `${this.where(entry)} inflates to more than the ${declared} bytes it declares; inflating stopped there`,
      { declared },
    );
  }

  /**
   * The head (at most `headBytes`) and tail (at most `tailBytes`) of a stored entry, with blocking reads: one read
   * when its head fits in `buffer` after its local header, three otherwise (header, head, tail). `undefined` for a
   * deflated or encrypted entry: use {@link readHeadTail}, which inflates it in bounded memory.
   * `buffer` (at least `headBytes` long) is reused for the head.
   */
  readHeadTailSync(entry: number, buffer: Uint8Array, headBytes: number, tailBytes: number): HeadTail | undefined {
    const fd = this.descriptor();
    const size = this.sizes[entry]!;
    if (this.methods[entry] !== 0 || (this.flags[entry]! & 1) !== 0) return undefined;
    // One read: the local header (its extra field usually fits in the slack) and as much data as fits.
    const offset = this.localOffsets[entry]!;
    const headLength = Math.min(size, headBytes);
    const want = Math.min(buffer.length, LOCAL_SLACK + this.nameLengths[entry]! + headLength);
    const got = readSync(fd, buffer, 0, want, offset);
    const start = this.checkLocal(entry, buffer, got);
    const dataAt = offset + start;
    const head =
      start + headLength <= got
        ? buffer.subarray(start, start + headLength)
        : buffer.subarray(0, readSync(fd, buffer, 0, Math.min(headLength, buffer.length), dataAt));
    if (head.length >= size) return { head, tail: head, size };
    const tail = Buffer.allocUnsafe(Math.min(tailBytes, size));
    const m = readSync(fd, tail, 0, tail.length, dataAt + size - tail.length);
    return { head, tail: tail.subarray(0, m), size };
  }

  /** Close the archive's file descriptor; reads fail afterwards, lookups go on working. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error(`zip archive ${this.path} is closed`);
    return this.fd;
  }

  /**
   * Check the local header read into `bytes` (`got` bytes from the entry's local header offset) and return where the
   * data starts, relative to that offset; throws when the header is missing or the data runs past the archive's data.
   */
  private checkLocal(entry: number, bytes: Uint8Array, got: number): number {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, got);
    if (got < 30 || view.readUInt32LE(0) !== LOCAL) {
      throw new Error(`entry ${this.names[entry]} has no local header at offset ${this.localOffsets[entry]}`);
    }
    const start = 30 + view.readUInt16LE(26) + view.readUInt16LE(28);
    if (this.localOffsets[entry]! + start + this.compressedSizes[entry]! > this.dataEnd) {
      throw new Error(`entry ${this.names[entry]} runs past the archive's data`);
    }
    return start;
  }

  private checkMethod(entry: number): void {
    if ((this.flags[entry]! & 1) !== 0) throw new Error(`entry ${this.names[entry]} is encrypted`);
    const method = this.methods[entry]!;
    if (method !== 0 && method !== 8) {
      throw new Error(`entry ${this.names[entry]} uses compression method ${method} (only stored and deflate)`);
    }
  }
}
