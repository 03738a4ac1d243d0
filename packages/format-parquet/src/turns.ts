/**
 * The `conversations` column of a llavakit-shaped file (`list<struct<from: string, value: string>>`) read without
 * building its strings: the pages of its two leaf chunks are walked for their levels and the byte ranges of their
 * values, which is all a re-shard needs to check every row's turns and to size it (the row group is then copied as
 * it is on disk). The turns of a row are decoded only when someone asks for them, exactly as hyparquet decodes them.
 * Anything this reader does not know (a `DATA_PAGE` v1 page, another encoding or codec, bytes that are not UTF-8)
 * makes it decline, and the row group is decoded by hyparquet instead.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { FileMetaData, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { snappyUncompress } from './snappy.js';

/** One turn as the Hub's `conversations` column holds it. */
export interface PlainTurn {
  from: string;
  value: string;
}

/** The turns of a row group's rows, checked and sized, decoded on demand. */
export interface TurnColumn {
  readonly rows: number;
  /** Per row: the length (UTF-16 code units, as `String.length`) of all its `from` and `value` texts. */
  readonly units: Float64Array;
  /** The turns of row `row`, as fresh objects `{from, value}` (hyparquet's decoding of the column, row by row). */
  turns(row: number): PlainTurn[];
}

const decoder = new TextDecoder();
const LEAVES = ['from', 'value'] as const;

/** The schema elements of `conversations` as llavakit writes them (see schema.ts). */
export function isTurnSchema(metadata: FileMetaData): boolean {
  const schema = metadata.schema;
  const at = schema.findIndex((e, i) => i > 0 && e.name === 'conversations');
  if (at < 0) return false;
  const [list, repeated, element, from, value] = schema.slice(at, at + 5) as (SchemaElement | undefined)[];
  const utf8 = (e: SchemaElement | undefined, name: string) =>
    e?.name === name &&
    e.type === 'BYTE_ARRAY' &&
    e.converted_type === 'UTF8' &&
    e.repetition_type === 'OPTIONAL' &&
    !e.num_children;
  return (
    list?.repetition_type === 'OPTIONAL' &&
    list.converted_type === 'LIST' &&
    list.num_children === 1 &&
    repeated?.name === 'list' &&
    repeated.repetition_type === 'REPEATED' &&
    repeated.num_children === 1 &&
    element?.name === 'element' &&
    element.repetition_type === 'OPTIONAL' &&
    element.num_children === 2 &&
    utf8(from, 'from') &&
    utf8(value, 'value')
  );
}

/**
 * UTF-16 length of the text of UTF-8 bytes as `TextDecoder` gives it (a leading byte-order mark is dropped), or -1
 * when they are not valid UTF-8 (then only `TextDecoder` knows how it replaces them).
 */
function unitsOf(bytes: Uint8Array): number {
  if (isAscii(bytes)) return bytes.length;
  if (!isUtf8(bytes)) return -1;
  let units = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) units--;
  return units;
}

/** Byte-array values, each where it lies in a page (views are made only when a value is decoded). */
interface Values {
  readonly pages: Uint8Array[];
  readonly page: number[];
  readonly start: number[];
  readonly length: number[];
  /** UTF-16 length of each value's text. */
  readonly units: number[];
}

const noValues = (): Values => ({ pages: [], page: [], start: [], length: [], units: [] });

/** Value `k` of `values`, as a view of its page. */
function valueAt(values: Values, k: number): Uint8Array {
  const start = values.start[k]!;
  return values.pages[values.page[k]!]!.subarray(start, start + values.length[k]!);
}

/**
 * PLAIN byte arrays: `count` values from the page start (4-byte little-endian length, then the bytes), with their
 * UTF-16 lengths; false when the page is short or a value is not UTF-8. `owned`: the page may be written to (its
 * length prefixes are zeroed once read, so one `isAscii` of the page answers for every value of a plain-text page).
 */
function plainValues(page: Uint8Array, count: number, into: Values, owned: boolean): boolean {
  const bytes = owned ? page : page.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = into.pages.length;
  into.pages.push(bytes);
  const first = into.start.length;
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (at + 4 > bytes.length) return false;
    const length = view.getUint32(at, true);
    view.setUint32(at, 0);
    at += 4;
    if (at + length > bytes.length) return false;
    into.page.push(p);
    into.start.push(at);
    into.length.push(length);
    at += length;
  }
  if (isAscii(bytes)) {
    for (let k = first; k < into.length.length; k++) into.units.push(into.length[k]!);
    return true;
  }
  for (let k = first; k < into.length.length; k++) {
    const n = unitsOf(valueAt(into, k));
    if (n < 0) return false;
    into.units.push(n);
  }
  return true;
}

interface Leaf {
  /** Per level entry: its repetition and definition level. */
  readonly rep: Uint8Array;
  readonly def: Uint8Array;
  /** The non-null values, in order. */
  readonly values: Values;
}

/** Walk one leaf chunk (its pages back to back in `chunk`): levels and value bytes, or undefined when unknown. */
function readLeaf(chunk: Uint8Array, codec: string): Leaf | undefined {
  if (codec !== 'SNAPPY' && codec !== 'UNCOMPRESSED') return undefined;
  const reader = { view: new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength), offset: 0 };
  const levels: { rep: number[]; def: number[] }[] = [];
  let entries = 0;
  const values = noValues();
  let dictionary: Values | undefined;
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
      dictionary = noValues();
      if (!plainValues(page, dict.num_values, dictionary, owned)) return undefined;
      continue;
    }
    const v2 = header.data_page_header_v2;
    if (header.type !== 'DATA_PAGE_V2' || !v2) return undefined;
    const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
    if (levelBytes > body.length) return undefined;
    const rep = new Array<number>(v2.num_values);
    const def = new Array<number>(v2.num_values);
    const levelReader = { view: new DataView(body.buffer, body.byteOffset, levelBytes), offset: 0 };
    // max repetition level 1 (1 bit), max definition level 4 (3 bits)
    readRleBitPackedHybrid(levelReader, 1, rep, v2.repetition_levels_byte_length);
    levelReader.offset = v2.repetition_levels_byte_length;
    readRleBitPackedHybrid(levelReader, 3, def, v2.definition_levels_byte_length);
    const nonNull = v2.num_values - v2.num_nulls;
    let present = 0;
    for (let k = 0; k < def.length; k++) if (def[k] === 4) present++;
    if (present !== nonNull) return undefined;
    const uncompressed = header.uncompressed_page_size - levelBytes;
    let page = body.subarray(levelBytes);
    let owned = false;
    if (v2.is_compressed !== false && uncompressed && codec === 'SNAPPY')
      ({ page, owned } = uncompress(page, uncompressed));
    if (v2.encoding === 'PLAIN') {
      if (!plainValues(page, nonNull, values, owned)) return undefined;
    } else if (v2.encoding === 'RLE_DICTIONARY' || v2.encoding === 'PLAIN_DICTIONARY') {
      if (!dictionary) return undefined;
      const indexes = new Array<number>(nonNull);
      if (nonNull > 0) {
        const indexReader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 1 };
        readRleBitPackedHybrid(indexReader, page[0]!, indexes, page.length - 1);
      }
      const base = values.pages.length;
      values.pages.push(...dictionary.pages);
      for (const index of indexes) {
        if (!(index >= 0 && index < dictionary.start.length)) return undefined;
        values.page.push(base + dictionary.page[index]!);
        values.start.push(dictionary.start[index]!);
        values.length.push(dictionary.length[index]!);
        values.units.push(dictionary.units[index]!);
      }
    } else return undefined;
    levels.push({ rep, def });
    entries += rep.length;
  }
  const rep = new Uint8Array(entries);
  const def = new Uint8Array(entries);
  let at = 0;
  for (const page of levels) {
    rep.set(page.rep, at);
    def.set(page.def, at);
    at += page.rep.length;
  }
  return { rep, def, values };
}

/**
 * Read the turns of a row group's `rows` rows from its two leaf chunks (`from`, `value`: each chunk's bytes, pages
 * back to back): undefined unless every row holds a list (possibly empty) of turns whose `from` and `value` are
 * both present and valid UTF-8 — rows that are not are left to hyparquet, whose decoding the reader rejects them by.
 */
export function readTurnColumn(
  chunks: Record<(typeof LEAVES)[number], Uint8Array>,
  codec: string,
  rows: number,
): TurnColumn | undefined {
  let from: Leaf | undefined;
  let value: Leaf | undefined;
  try {
    from = readLeaf(chunks.from, codec);
    value = readLeaf(chunks.value, codec);
  } catch {
    return undefined;
  }
  if (!from || !value || from.def.length !== value.def.length) return undefined;
  // Per row: where its turns start in the values, how many there are, their length.
  const first = new Int32Array(rows);
  const count = new Int32Array(rows);
  const units = new Float64Array(rows);
  const fromUnits = from.values.units;
  const valueUnits = value.values.units;
  let row = -1;
  let next = 0;
  let empty = false;
  for (let k = 0; k < from.def.length; k++) {
    const r = from.rep[k]!;
    const d = from.def[k]!;
    if (r !== value.rep[k] || d !== value.def[k]) return undefined;
    if (r === 0) {
      row++;
      if (row >= rows) return undefined;
      first[row] = next;
      empty = d === 1;
      if (empty) continue; // an empty list
    } else if (row < 0 || empty) return undefined;
    if (d !== 4) return undefined; // a null list, turn, from or value: hyparquet's decoding says which
    count[row]!++;
    units[row]! += fromUnits[next]! + valueUnits[next]!;
    next++;
  }
  if (row !== rows - 1 || next !== fromUnits.length || next !== valueUnits.length) return undefined;
  const fromValues = from.values;
  const valueValues = value.values;
  return {
    rows,
    units,
    turns(r) {
      const out: PlainTurn[] = [];
      for (let k = first[r]!; k < first[r]! + count[r]!; k++) {
        out.push({ from: decoder.decode(valueAt(fromValues, k)), value: decoder.decode(valueAt(valueValues, k)) });
      }
      return out;
    },
  };
}

/** Where a row's turns are: row `row` of `column`. */
export interface LazyTurns {
  readonly column: TurnColumn;
  readonly row: number;
}

const RAW: unique symbol = Symbol('llavakit.parquet.raw-turns');
const PENDING: unique symbol = Symbol('llavakit.parquet.pending-turns');

/** A record's turns while pending; `column` is dropped once they are read or replaced (nothing holds the pages). */
interface Pending {
  column: TurnColumn | undefined;
  readonly row: number;
}
type WithRaw = { [RAW]?: LazyTurns } & Record<string, unknown>;
type WithPending = { [PENDING]?: Pending } & Record<string, unknown>;

const data = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });

// One getter (and setter) for every lazy row and record: no closure per row.
const RAW_TURNS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: WithRaw) {
    const at = this[RAW]!;
    const turns = at.column.turns(at.row);
    Object.defineProperty(this, 'conversations', data(turns));
    return turns;
  },
};

function settle(record: WithPending, value: unknown): void {
  record[PENDING]!.column = undefined;
  Object.defineProperty(record, 'conversations', data(value));
}

const RECORD_TURNS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: WithPending) {
    const state = this[PENDING]!;
    const turns = state.column!.turns(state.row);
    settle(this, turns);
    return turns;
  },
  set(this: WithPending, value: unknown) {
    settle(this, value);
  },
};

/**
 * Give a decoded row (hyparquet's shape, read without its `conversations` column) a `conversations` cell decoded
 * from `column` when first read. Its keys then end with `conversations` (see {@link inColumnOrder}).
 */
export function withLazyTurns(decoded: Record<string, unknown>, column: TurnColumn, row: number): void {
  Object.defineProperty(decoded, RAW, { value: { column, row } satisfies LazyTurns });
  Object.defineProperty(decoded, 'conversations', RAW_TURNS);
}

/** A row's cells in the file's column order (a row given lazy turns lists `conversations` last). */
export function inColumnOrder(row: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  if (!rawTurnsOf(row)) return row;
  const out: Record<string, unknown> = {};
  for (const name of names) if (name in row) out[name] = row[name];
  return out;
}

/** The lazy turns of a row made by {@link withLazyTurns} (whether or not they were read since). */
export function rawTurnsOf(row: object): LazyTurns | undefined {
  return (row as WithRaw)[RAW];
}

/**
 * Give a record (being built, in key order) a `conversations` decoded when first read or replaced when first
 * written; until then {@link pendingTurns} says where its turns are.
 */
export function defineLazyTurns(record: Record<string, unknown>, turns: LazyTurns): void {
  Object.defineProperty(record, PENDING, { value: { column: turns.column, row: turns.row } satisfies Pending });
  Object.defineProperty(record, 'conversations', RECORD_TURNS);
}

/** The turns of a record that nobody has read or replaced yet (they are then those of its source row). */
export function pendingTurns(record: object): LazyTurns | undefined {
  const state = (record as WithPending)[PENDING];
  return state?.column ? { column: state.column, row: state.row } : undefined;
}

/**
 * The `conversations` cell of a row whose record's turns are still pending: the writer compares it with the source
 * row by place (same column, same row) and decodes it only when the row is encoded again.
 */
export class TurnsCell {
  constructor(readonly turns: LazyTurns) {}
  /** Whether `raw` is the source row these turns are read from. */
  isOf(raw: object): boolean {
    const at = rawTurnsOf(raw);
    return at !== undefined && at.column === this.turns.column && at.row === this.turns.row;
  }
  /** The turns, decoded (fresh objects). */
  decode(): PlainTurn[] {
    return this.turns.column.turns(this.turns.row);
  }
}
