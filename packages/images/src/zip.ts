import { closeSync, promises as fsp, openSync, read as readCallback, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { DEFAULT_MAX_IMAGE_BYTES, ImageReadRefused, tooLarge } from './confined.js';
import type { HeadTail } from './headtail.js';

const readAsync = promisify(readCallback);
/** Compressed bytes read, and inflated bytes produced, at a time. */
const READ_CHUNK = 64 * 1024;

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

/** An entry the index refused because its name is absolute or contains `..`. */
export interface UnsafeZipEntry {
  /** The name as stored in the archive. */
  readonly name: string;
  /** Why it was refused. */
  readonly reason: string;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
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
      table = parseCentralDirectory(cd, end.entries);
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

interface CentralDirectory {
  byName: Map<string, number>;
  names: string[];
  localOffsets: Float64Array;
  sizes: Float64Array;
  compressedSizes: Float64Array;
  methods: Uint16Array;
  flags: Uint16Array;
  nameLengths: Uint16Array;
  unsafe: UnsafeZipEntry[];
}

/** Find the central directory from the end-of-central-directory record (and its ZIP64 form). */
async function locateCentralDirectory(
  handle: fsp.FileHandle,
  fileSize: number,
): Promise<{ offset: number; size: number; entries: number }> {
  const tailLength = Math.min(fileSize, 22 + MAX16 + 20);
  const tail = Buffer.allocUnsafe(tailLength);
  await handle.read(tail, 0, tailLength, fileSize - tailLength);
  let at = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new Error('end of central directory record signature not found');
  let entries = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (entries === MAX16 || size === MAX32 || offset === MAX32) {
    const locatorAt = at - 20;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== EOCD64_LOCATOR) {
      throw new Error('ZIP64 end of central directory locator not found');
    }
    const recordAt = Number(tail.readBigUInt64LE(locatorAt + 8));
    const record = Buffer.allocUnsafe(56);
    await handle.read(record, 0, 56, recordAt);
    if (record.readUInt32LE(0) !== EOCD64) throw new Error('ZIP64 end of central directory record not found');
    entries = Number(record.readBigUInt64LE(32));
    size = Number(record.readBigUInt64LE(40));
    offset = Number(record.readBigUInt64LE(48));
  }
  if (offset + size > fileSize) throw new Error('the central directory runs past the end of the file');
  return { offset, size, entries };
}

function parseCentralDirectory(cd: Buffer, count: number): CentralDirectory {
  if (count > cd.length / 46) {
    throw new Error(`the central directory (${cd.length} bytes) is too small for ${count} entries`);
  }
  const localOffsets = new Float64Array(count);
  const sizes = new Float64Array(count);
  const compressedSizes = new Float64Array(count);
  const methods = new Uint16Array(count);
  const flags = new Uint16Array(count);
  const nameLengths = new Uint16Array(count);
  const names: string[] = [];
  const byName = new Map<string, number>();
  const unsafe: UnsafeZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL) {
      throw new Error(`invalid central directory file header signature at entry ${i}`);
    }
    const flag = cd.readUInt16LE(at + 8);
    const method = cd.readUInt16LE(at + 10);
    let compressedSize = cd.readUInt32LE(at + 20);
    let size = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    let localOffset = cd.readUInt32LE(at + 42);
    const nameStart = at + 46;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > cd.length) throw new Error(`central directory entry ${i} runs past the directory`);
    if (size === MAX32 || compressedSize === MAX32 || localOffset === MAX32) {
      // ZIP64 extended information: the fields that overflowed, in this order.
      for (let e = extraStart; e + 4 <= extraStart + extraLength; ) {
        const id = cd.readUInt16LE(e);
        const length = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let f = e + 4;
          if (size === MAX32) {
            size = Number(cd.readBigUInt64LE(f));
            f += 8;
          }
          if (compressedSize === MAX32) {
            compressedSize = Number(cd.readBigUInt64LE(f));
            f += 8;
          }
          if (localOffset === MAX32) localOffset = Number(cd.readBigUInt64LE(f));
          break;
        }
        e += 4 + length;
      }
    }
    const name = decodeName(cd, nameStart, nameLength, flag, extraStart, extraLength);
    at = next;
    if (name.endsWith('/')) continue; // a directory
    const problem =
      name.includes('..') || name.includes('\\') || name.startsWith('/') || /^[a-zA-Z]:/.test(name)
        ? yauzl.validateFileName(name)
        : null;
    if (problem !== null) {
      unsafe.push({ name, reason: problem });
      continue;
    }
    if (byName.has(name)) continue; // the first of two equal names counts
    const n = names.length;
    names.push(name);
    byName.set(name, n);
    localOffsets[n] = localOffset;
    sizes[n] = size;
    compressedSizes[n] = compressedSize;
    methods[n] = method;
    flags[n] = flag;
    nameLengths[n] = nameLength;
  }
  const n = names.length;
  return {
    byName,
    names,
    localOffsets: localOffsets.slice(0, n),
    sizes: sizes.slice(0, n),
    compressedSizes: compressedSizes.slice(0, n),
    methods: methods.slice(0, n),
    flags: flags.slice(0, n),
    nameLengths: nameLengths.slice(0, n),
    unsafe,
  };
}

/** An entry name: ASCII and UTF-8 (flag bit 11) names directly; others as yauzl decodes them (CP437, Unicode Path). */
function decodeName(
  cd: Buffer,
  start: number,
  length: number,
  flag: number,
  extraStart: number,
  extraLength: number,
): string {
  let ascii = true;
  for (let i = start; i < start + length; i++) {
    if (cd[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii && !hasExtra(cd, extraStart, extraLength, 0x7075)) return cd.toString('latin1', start, start + length);
  if (flag & 0x800) return cd.toString('utf8', start, start + length);
  const extraFields: { id: number; data: Buffer }[] = [];
  for (let e = extraStart; e + 4 <= extraStart + extraLength; ) {
    const id = cd.readUInt16LE(e);
    const size = cd.readUInt16LE(e + 2);
    extraFields.push({ id, data: cd.subarray(e + 4, e + 4 + size) });
    e += 4 + size;
  }
  return yauzl.getFileNameLowLevel(flag, cd.subarray(start, start + length), extraFields, false);
}

/** Whether the extra field area holds a field with this id (0x7075: Info-ZIP Unicode Path). */
function hasExtra(cd: Buffer, start: number, length: number, wanted: number): boolean {
  for (let e = start; e + 4 <= start + length; e += 4 + cd.readUInt16LE(e + 2)) {
    if (cd.readUInt16LE(e) === wanted) return true;
  }
  return false;
}

function singleTopFolder(names: readonly string[]): string | undefined {
  let top: string | undefined;
  for (const name of names) {
    const slash = name.indexOf('/');
    if (slash <= 0) return undefined;
    const first = name.slice(0, slash);
    if (top === undefined) top = first;
    else if (top !== first) return undefined;
  }
  return top;
}
