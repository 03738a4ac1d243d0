/**
 * The `conversations` column of a llavakit-shaped file (`list<struct<from: string, value: string>>`) read without
 * building its strings: the pages of its two leaf chunks are walked for their levels and the byte ranges of their
 * values, which is all a re-shard needs to check every row's turns and to size it (the row group is then copied as
 * it is on disk). The turns of a row are decoded only when someone asks for them, exactly as hyparquet decodes them.
 * Anything this reader does not know (a `DATA_PAGE` v1 page, another encoding or codec, bytes that are not UTF-8)
 * makes it decline, and the row group is decoded by hyparquet instead.
 */
import type { FileMetaData, SchemaElement } from 'hyparquet';
import { hiddenSlot, type RecordState, recordState } from './hidden.js';
import { type ByteLeaf, readByteLeaf, unitsOfRun, valueAt } from './leaf.js';

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
 * Read the turns of a row group's `rows` rows from its two leaf chunks (`from`, `value`: each chunk's bytes, pages
 * back to back): undefined unless every row holds a list (possibly empty) of turns whose `from` and `value` are
 * both present and valid UTF-8 — rows that are not are left to hyparquet, whose decoding the reader rejects them by.
 */
export function readTurnColumn(
  chunks: Record<(typeof LEAVES)[number], Uint8Array>,
  codec: string,
  rows: number,
  /** The chunks' level entries as their metadata says (room is made for more when it is wrong). */
  entries = rows * 2,
): TurnColumn | undefined {
  let from: ByteLeaf | undefined;
  let value: ByteLeaf | undefined;
  // max repetition level 1, max definition level 4 (list, repeated, element, leaf)
  const shape = { maxRep: 1, maxDef: 4, capacity: entries, units: true };
  try {
    from = readByteLeaf(chunks.from, codec, shape);
    value = readByteLeaf(chunks.value, codec, shape);
  } catch {
    return undefined;
  }
  if (!from || !value || from.def.length !== value.def.length) return undefined;
  // Per row: where its turns start in the values, how many there are, their length.
  const first = new Int32Array(rows);
  const count = new Int32Array(rows);
  const units = new Float64Array(rows);
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
    next++;
  }
  if (row !== rows - 1 || next !== from.values.count || next !== value.values.count) return undefined;
  const fromValues = from.values;
  const valueValues = value.values;
  // a row's values lie in one page (pages start at row boundaries), back to back when the page is PLAIN
  for (let r = 0; r < rows; r++) {
    const end = first[r]! + count[r]!;
    if (
      count[r]! > 0 &&
      (fromValues.page[first[r]!] !== fromValues.page[end - 1] ||
        valueValues.page[first[r]!] !== valueValues.page[end - 1])
    )
      return undefined;
    units[r] = unitsOfRun(fromValues, first[r]!, end) + unitsOfRun(valueValues, first[r]!, end);
  }
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

/** The lazy turns of a decoded row, hidden on it (see hidden.ts). */
const rawTurns = hiddenSlot<LazyTurns>();

const data = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });

// One getter (and setter) for every lazy row and record: no closure per row.
const RAW_TURNS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: object) {
    const at = rawTurns.get(this)!;
    const turns = at.column.turns(at.row);
    Object.defineProperty(this, 'conversations', data(turns));
    return turns;
  },
};

function settle(record: object, state: RecordState, value: unknown): void {
  state.column = undefined;
  Object.defineProperty(record, 'conversations', data(value));
}

const RECORD_TURNS: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: object) {
    const state = recordState.get(this)!;
    const turns = state.column!.turns(state.row);
    settle(this, state, turns);
    return turns;
  },
  set(this: object, value: unknown) {
    settle(this, recordState.get(this)!, value);
  },
};

/**
 * Give a decoded row (hyparquet's shape, read without its `conversations` column) a `conversations` cell decoded
 * from `column` when first read. Its keys then end with `conversations` (see {@link inColumnOrder}).
 */
export function withLazyTurns(decoded: Record<string, unknown>, column: TurnColumn, row: number): void {
  rawTurns.attach(decoded, { column, row });
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
  return rawTurns.get(row);
}

/**
 * Give a record (being built, in key order) a `conversations` decoded when first read or replaced when first
 * written; until then {@link pendingTurns} says where its turns are.
 */
export function defineLazyTurns(record: Record<string, unknown>, turns: LazyTurns): void {
  const state = recordState.get(record);
  if (state) {
    state.column = turns.column;
    state.row = turns.row;
  } else recordState.attach(record, { column: turns.column, row: turns.row, origin: undefined });
  Object.defineProperty(record, 'conversations', RECORD_TURNS);
}

/** The turns of a record that nobody has read or replaced yet (they are then those of its source row). */
export function pendingTurns(record: object): LazyTurns | undefined {
  const state = recordState.get(record);
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
