/**
 * One leaf column chunk of byte arrays (`BYTE_ARRAY`, optionally under lists and structs) walked page by page for
 * its repetition and definition levels and the places of its values in the (uncompressed) pages — without making a
 * string or a view per value. What llavakit writes: `DATA_PAGE_V2` pages, `PLAIN` or dictionary-encoded, Snappy or
 * uncompressed. Anything else (a `DATA_PAGE` v1 page, another encoding or codec, a page shorter than its header
 * says) makes {@link readByteLeaf} decline (undefined), and the caller reads the chunk with hyparquet instead.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { parquetHeader } from 'hyparquet/src/column.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { snappyUncompress } from './snappy.js';

/** Byte-array values, each where it lies in a page (views are made only when a value is read). */
export interface ByteValues {
  readonly pages: Uint8Array[];
  /** Per value: its page (an index into `pages`), its start in the page, its length (room for more past `count`). */
  page: Int32Array;
  start: Int32Array;
  length: Int32Array;
  /**
   * Per value, when asked for: the UTF-16 length of its text (as `TextDecoder` gives it) for values of a dictionary,
   * -1 for values of a PLAIN page (see {@link unitsOfRun}: they are counted a run at a time).
   */
  units: Int32Array | undefined;
  /** Per page, when units are asked for: whether the page is all ASCII (then every value's length is its units). */
  readonly ascii: boolean[];
  /** How many values were read. */
  count: number;
}

/** A leaf chunk read: one level entry per value slot (nulls included), and the non-null values in order. */
export interface ByteLeaf {
  /** Repetition levels (all 0 for a leaf outside any list). */
  readonly rep: Uint8Array;
  /** Definition levels; a value is present where it equals the leaf's maximum. */
  readonly def: Uint8Array;
  readonly values: ByteValues;
}

/** How a leaf sits in the schema, and what to compute. */
export interface LeafShape {
  readonly maxRep: number;
  readonly maxDef: number;
  /** The chunk's level entries, as its metadata says (`num_values`; room grows past it when it is wrong). */
  readonly capacity: number;
  /** Make each value's UTF-16 length known (see {@link unitsOfRun}), and decline when a value is not UTF-8. */
  readonly units?: boolean;
}

/** Value `k` of `values`, as a view of its page. */
export function valueAt(values: ByteValues, k: number): Uint8Array {
  const start = values.start[k]!;
  return values.pages[values.page[k]!]!.subarray(start, start + values.length[k]!);
}

function newValues(capacity: number, units: boolean): ByteValues {
  return {
    pages: [],
    page: new Int32Array(capacity),
    start: new Int32Array(capacity),
    length: new Int32Array(capacity),
    units: units ? new Int32Array(capacity) : undefined,
    ascii: [],
    count: 0,
  };
}

/** A copy of `array` with room for at least `size` entries. */
function grown<T extends Int32Array | Uint8Array>(array: T, size: number): T {
  const out = new (array.constructor as new (n: number) => T)(Math.max(size, array.length * 2, 64));
  out.set(array);
  return out;
}

/** Make room for `more` values past `values.count`. */
function reserve(values: ByteValues, more: number): void {
  const size = values.count + more;
  if (size <= values.start.length) return;
  values.page = grown(values.page, size);
  values.start = grown(values.start, size);
  values.length = grown(values.length, size);
  if (values.units) values.units = grown(values.units, size);
}

/**
 * PLAIN byte arrays: `count` values from the page start (4-byte little-endian length, then the bytes); false when
 * the page is short or (with units) a value is not UTF-8. With units the page must be ours
 * to write to (`owned`, else it is copied): its length prefixes are zeroed once read, so one `isAscii` of the page
 * answers for every value of a plain-text page.
 */
function plainValues(page: Uint8Array, count: number, into: ByteValues, owned: boolean, dictionary = false): boolean {
  reserve(into, count);
  const units = into.units;
  // (a copy: `slice` of a Node Buffer would be a view of the file's bytes, which must stay as read)
  const bytes = units && !owned ? new Uint8Array(page) : page;
  const first = into.count;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = into.pages.length;
  into.pages.push(bytes);
  const end = bytes.length;
  let at = 0;
  for (let k = first; k < first + count; k++) {
    if (at + 4 > end) return false;
    const length = view.getUint32(at, true);
    if (units) view.setUint32(at, 0);
    at += 4;
    if (length > end - at) return false;
    into.page[k] = p;
    into.start[k] = at;
    into.length[k] = length;
    at += length;
  }
  into.count = first + count;
  if (!units) return true;
  const ascii = isAscii(bytes);
  into.ascii[p] = ascii;
  // With the length prefixes zeroed (zero is a character of its own), the page is UTF-8 exactly when every value is.
  if (!ascii && !isUtf8(bytes)) return false;
  if (ascii) units.set(into.length.subarray(first, first + count), first);
  else if (dictionary) textUnits(bytes, into, first, first + count);
  else units.fill(-1, first, first + count);
  return true;
}

/**
 * The UTF-16 length (as `TextDecoder` gives it, value by value) of the text of values `from`…`to - 1` of `values`:
 * from their known units, or — for values of a PLAIN page, which lie back to back there — from one `isAscii` of the
 * run (its zeroed length prefixes are ASCII), halving a run that is not until the values that are not ASCII are
 * counted one by one.
 */
export function unitsOfRun(values: ByteValues, from: number, to: number): number {
  if (to <= from) return 0;
  const units = values.units!;
  let sum = 0;
  if (units[from]! >= 0) {
    for (let k = from; k < to; k++) sum += units[k]!;
    return sum;
  }
  for (let k = from; k < to; k++) sum += values.length[k]!;
  const p = values.page[from]!;
  if (values.ascii[p]) return sum;
  const start = values.start[from]!;
  const end = values.start[to - 1]! + values.length[to - 1]!;
  const page = values.pages[p]!;
  if (isAscii(page.subarray(start, end))) return sum;
  return runUnits(page, values, from, to);
}

/** The units of values `from`…`to - 1` of a PLAIN page of valid UTF-8 (halving runs that are not all ASCII). */
function runUnits(page: Uint8Array, values: ByteValues, from: number, to: number): number {
  if (to - from === 1) return validUnits(page, values.start[from]!, values.start[from]! + values.length[from]!);
  const middle = (from + to) >>> 1;
  let sum = 0;
  for (const [a, b] of [
    [from, middle],
    [middle, to],
  ] as const) {
    const end = values.start[b - 1]! + values.length[b - 1]!;
    if (isAscii(page.subarray(values.start[a]!, end))) for (let k = a; k < b; k++) sum += values.length[k]!;
    else sum += runUnits(page, values, a, b);
  }
  return sum;
}

/**
 * The UTF-16 lengths of values `from`…`to - 1` of a page of valid UTF-8: runs of values that are all ASCII (most, in
 * most pages) are found by halving with one `isAscii` per run, the others are counted.
 */
function textUnits(page: Uint8Array, values: ByteValues, from: number, to: number): void {
  const units = values.units!;
  const end = values.start[to - 1]! + values.length[to - 1]!;
  if (isAscii(page.subarray(values.start[from]!, end))) {
    units.set(values.length.subarray(from, to), from);
    return;
  }
  if (to - from === 1) {
    units[from] = validUnits(page, values.start[from]!, end);
    return;
  }
  const middle = (from + to) >>> 1;
  textUnits(page, values, from, middle);
  textUnits(page, values, middle, to);
}

/** The set high bits (0x80 of each byte) of a word, counted. */
const highBits = (w: number) => Math.imul((w >>> 7) & 0x01010101, 0x01010101) >>> 24;

/**
 * UTF-16 length of valid UTF-8 bytes `start`…`end - 1` as `TextDecoder` gives it (a leading byte-order mark
 * dropped): one unit per byte that is not a continuation byte, two for a 4-byte sequence's leader — counted four
 * bytes at a time.
 */
function validUnits(page: Uint8Array, start: number, end: number): number {
  let units = 0;
  let i = start;
  const byte = (b: number) => ((b & 0xc0) !== 0x80 ? (b >= 0xf0 ? 2 : 1) : 0);
  while (i < end && (page.byteOffset + i) & 3) units += byte(page[i++]!);
  const words = (end - i) >>> 2;
  if (words > 0) {
    const view = new Int32Array(page.buffer, page.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const w = view[k]!;
      if ((w & 0x80808080) === 0) {
        units += 4;
        continue;
      }
      // continuation bytes: 10xxxxxx; 4-byte leaders: 11110xxx
      units += 4 - highBits(w & ~(w << 1) & 0x80808080) + highBits(w & (w << 1) & (w << 2) & (w << 3) & 0x80808080);
    }
    i += words * 4;
  }
  while (i < end) units += byte(page[i++]!);
  if (end - start >= 3 && page[start] === 0xef && page[start + 1] === 0xbb && page[start + 2] === 0xbf) units--;
  return units;
}

/** The bit width of levels up to `max`. */
const bitWidth = (max: number) => 32 - Math.clz32(max);

/**
 * Walk one leaf chunk (its pages back to back in `chunk`): levels and value places, or undefined when this reader
 * does not know its pages (the caller then reads the chunk with hyparquet).
 */
export function readByteLeaf(chunk: Uint8Array, codec: string, shape: LeafShape): ByteLeaf | undefined {
  if (codec !== 'SNAPPY' && codec !== 'UNCOMPRESSED') return undefined;
  const { maxRep, maxDef, capacity } = shape;
  const withUnits = shape.units === true;
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
  let rep = new Uint8Array(capacity);
  let def = new Uint8Array(capacity);
  let entries = 0;
  const values = newValues(capacity, withUnits);
  let dictionary: ByteValues | undefined;
  // a page is ours to write to when it was uncompressed into a buffer of its own
  const uncompress = (body: Uint8Array, size: number) => {
    const page = snappyUncompress(body, size);
    return { page, owned: page.buffer !== body.buffer };
  };
  while (reader.offset < chunk.length) {
    const header = parquetHeader(reader);
    const start = reader.offset;
    const body = chunk.subarray(start, start + header.compressed_page_size);
    reader.offset = start + header.compressed_page_size;
    if (body.length !== header.compressed_page_size) return undefined;
    if (header.type === 'DICTIONARY_PAGE') {
      const dict = header.dictionary_page_header;
      if (!dict || dictionary || (dict.encoding !== 'PLAIN' && dict.encoding !== 'PLAIN_DICTIONARY')) return undefined;
      const { page, owned } =
        codec === 'SNAPPY' ? uncompress(body, header.uncompressed_page_size) : { page: body, owned: false };
      dictionary = newValues(dict.num_values, withUnits);
      if (!plainValues(page, dict.num_values, dictionary, owned, true)) return undefined;
      continue;
    }
    const v2 = header.data_page_header_v2;
    if (header.type !== 'DATA_PAGE_V2' || !v2) return undefined;
    const n = v2.num_values;
    const repBytes = v2.repetition_levels_byte_length;
    const defBytes = v2.definition_levels_byte_length;
    if (repBytes + defBytes > body.length) return undefined;
    if (entries + n > rep.length) {
      rep = grown(rep, entries + n);
      def = grown(def, entries + n);
    }
    if ((maxRep === 0 && repBytes !== 0) || (maxDef === 0 && defBytes !== 0)) return undefined;
    const pageRep = rep.subarray(entries, entries + n);
    const pageDef = def.subarray(entries, entries + n);
    if (maxRep > 0) {
      const levels = { view: new DataView(body.buffer, body.byteOffset, repBytes), offset: 0 };
      readRleBitPackedHybrid(levels, bitWidth(maxRep), pageRep, repBytes);
    }
    if (maxDef > 0) {
      const levels = { view: new DataView(body.buffer, body.byteOffset + repBytes, defBytes), offset: 0 };
      readRleBitPackedHybrid(levels, bitWidth(maxDef), pageDef, defBytes);
    } else pageDef.fill(0);
    let present = 0;
    let rows = 0;
    for (let k = 0; k < n; k++) {
      const d = pageDef[k]!;
      const r = pageRep[k]!;
      if (d > maxDef || r > maxRep) return undefined;
      if (d === maxDef) present++;
      if (r === 0) rows++;
    }
    // the header's counts agree with the levels (a page whose header disagrees is left to hyparquet)
    if (present !== n - v2.num_nulls || rows !== v2.num_rows) return undefined;
    if (entries === 0 && n > 0 && pageRep[0] !== 0) return undefined;
    entries += n;
    const uncompressed = header.uncompressed_page_size - repBytes - defBytes;
    let page = body.subarray(repBytes + defBytes);
    let owned = false;
    if (v2.is_compressed !== false && uncompressed && codec === 'SNAPPY')
      ({ page, owned } = uncompress(page, uncompressed));
    if (v2.encoding === 'PLAIN') {
      if (!plainValues(page, present, values, owned)) return undefined;
    } else if (v2.encoding === 'RLE_DICTIONARY' || v2.encoding === 'PLAIN_DICTIONARY') {
      if (!dictionary) return undefined;
      reserve(values, present);
      const indexes = new Int32Array(present);
      if (present > 0) {
        if (page.length === 0) return undefined;
        const indexReader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 1 };
        readRleBitPackedHybrid(indexReader, page[0]!, indexes, page.length - 1);
      }
      const base = values.pages.length;
      values.pages.push(...dictionary.pages);
      let k = values.count;
      for (const index of indexes) {
        if (!(index >= 0 && index < dictionary.count)) return undefined;
        values.page[k] = base + dictionary.page[index]!;
        values.start[k] = dictionary.start[index]!;
        values.length[k] = dictionary.length[index]!;
        if (values.units) values.units[k] = dictionary.units![index]!;
        k++;
      }
      values.count = k;
    } else return undefined;
  }
  return { rep: rep.subarray(0, entries), def: def.subarray(0, entries), values };
}
