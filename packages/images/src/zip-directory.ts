/** A zip archive's central directory: finding it from the end record (ZIP64 too) and parsing it into compact tables. */
import type { promises as fsp } from 'node:fs';

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
/** The signature of a local file header. */
export const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/** The central directory as compact tables, by entry number. */
export interface CentralDirectory {
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
export async function locateCentralDirectory(
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

/** yauzl's name rules (unsafe names, Info-ZIP Unicode paths), as {@link parseCentralDirectory} takes them. */
export type ZipNameRules = Pick<typeof import('yauzl'), 'validateFileName' | 'getFileNameLowLevel'>;

/** yauzl, loaded with the first archive opened: a run that reads no zip does not load it. */
export async function zipNameRules(): Promise<ZipNameRules> {
  return (await import('yauzl')).default;
}

/** Parse `count` central directory records into tables; unsafe names are kept out and listed. */
export function parseCentralDirectory(cd: Buffer, count: number, yauzl: ZipNameRules): CentralDirectory {
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
    const name = decodeName(yauzl, cd, nameStart, nameLength, flag, extraStart, extraLength);
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
  yauzl: ZipNameRules,
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

/** The single top-level folder every name lies under (without slash), or undefined. */
export function singleTopFolder(names: readonly string[]): string | undefined {
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
