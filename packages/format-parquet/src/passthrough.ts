/**
 * Re-sharding without re-encoding: a row group read from a llavakit-shaped Parquet file is copied into the output
 * byte for byte (its column chunks as compressed on disk, the footer offsets shifted) when every one of its rows
 * reaches the writer, in order, and the cells the writer would encode equal the cells the reader decoded. Anything
 * else — a rejected or skipped row, a changed record, a rewritten image path, another schema — falls back to
 * encoding the rows.
 */
import type { FileMetaData, RowGroup, SchemaElement } from 'hyparquet';
import { recordState } from './hidden.js';
import { TurnsCell } from './turns.js';

/** A row group as read from its file, kept for copying while its records are in flight. */
export interface SourceGroup {
  /** The file's parsed footer (identifies the file; its schema is compared with the output's). */
  readonly metadata: FileMetaData;
  /** The row group's footer entry (offsets in the source file). */
  readonly rowGroup: RowGroup;
  /** The source file, and where its column chunks lie in it, back to back. */
  readonly file: string;
  readonly start: number;
  readonly length: number;
  readonly rows: number;
  /**
   * The chunks' bytes as read (back to back from `start`, `length` in all), written out from memory: the records in
   * flight hold most of them anyway (their image bytes are views of the pages). Without them, the span is copied
   * from the file.
   */
  readonly chunks?: readonly Uint8Array[];
}

/** Where a record came from: row `row` of `group`, decoded as `raw` (column name → hyparquet value). */
export interface RowOrigin {
  readonly group: SourceGroup;
  readonly row: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * Remember where a record read from Parquet came from (held only as long as the record is). It is kept in the
 * record's hidden state (see hidden.ts), so no key list, JSON text, spread copy, clone or deep comparison of the
 * record shows it (a WeakMap of 150K in-flight records cost a re-shard a fifth of its time and 110 MiB).
 */
export function noteOrigin(record: object, origin: RowOrigin): void {
  const state = recordState.get(record);
  if (state) state.origin = origin;
  else recordState.attach(record, { column: undefined, row: -1, origin });
}

/** Where a record came from, when it was read from a row group that can be copied. */
export function originOf(record: object): RowOrigin | undefined {
  return recordState.get(record)?.origin;
}

/**
 * Can this row group be copied as is? Only Snappy chunks (what the writer promises), with their metadata, laid out
 * back to back (no page index or bloom filter between them).
 */
export function copyable(rowGroup: RowGroup): boolean {
  let bytes = 0;
  for (const column of rowGroup.columns) {
    const meta = column.meta_data;
    if (!meta || column.file_path || column.encrypted_column_metadata || column.crypto_metadata) return false;
    if (meta.codec !== 'SNAPPY' || meta.bloom_filter_offset !== undefined) return false;
    bytes += Number(meta.total_compressed_size);
  }
  return rowGroup.columns.length > 0 && bytes > 0 && Number(rowGroup.num_rows) > 0;
}

/** The total of a row group's column chunk sizes (the span of its chunks when they lie back to back). */
export function chunkBytes(rowGroup: RowGroup): number {
  let bytes = 0;
  for (const column of rowGroup.columns) bytes += Number(column.meta_data?.total_compressed_size ?? 0);
  return bytes;
}

const SCHEMA_FIELDS = [
  'name',
  'type',
  'type_length',
  'repetition_type',
  'num_children',
  'converted_type',
  'scale',
  'precision',
  'field_id',
] as const;

/** Do two Parquet schemas describe the same columns (names, physical and converted types, nesting)? */
export function sameSchema(a: readonly SchemaElement[], b: readonly SchemaElement[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    for (const field of SCHEMA_FIELDS) {
      if (i === 0 && (field === 'name' || field === 'repetition_type')) continue;
      if ((x[field] ?? undefined) !== (y[field] ?? undefined)) return false;
    }
    if (JSON.stringify(x.logical_type ?? null) !== JSON.stringify(y.logical_type ?? null)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

/**
 * Is the cell the writer would encode the value the reader decoded? Strict: `null` and `undefined` are the same
 * (both are a null cell), numbers compare with `Object.is`, bigints by value, bytes by content, lists and structs
 * element by element.
 */
export function sameCell(written: unknown, decoded: unknown): boolean {
  if (written === null || written === undefined) return decoded === null || decoded === undefined;
  if (typeof written === 'number') return typeof decoded === 'number' && Object.is(written, decoded);
  if (typeof written !== 'object') return written === decoded;
  if (decoded === null || typeof decoded !== 'object') return false;
  if (written instanceof Uint8Array) return decoded instanceof Uint8Array && sameBytes(written, decoded);
  if (Array.isArray(written)) {
    if (!Array.isArray(decoded) || decoded.length !== written.length) return false;
    for (let i = 0; i < written.length; i++) if (!sameCell(written[i], decoded[i])) return false;
    return true;
  }
  if (Array.isArray(decoded) || decoded instanceof Uint8Array) return false;
  const w = written as Record<string, unknown>;
  const d = decoded as Record<string, unknown>;
  for (const key in w) if (!sameCell(w[key], d[key])) return false;
  for (const key in d) if (!(key in w) && d[key] !== null && d[key] !== undefined) return false;
  return true;
}

/** Do a row's cells (in column order) equal the decoded row (by column name), column for column? */
export function sameRow(cells: readonly unknown[], names: readonly string[], raw: Readonly<Record<string, unknown>>) {
  if (Object.keys(raw).length !== names.length) return false;
  for (let c = 0; c < names.length; c++) {
    const cell = cells[c];
    // pending turns are the source row's own when they come from this very row (neither is decoded to tell)
    if (cell instanceof TurnsCell ? !cell.isOf(raw) : !sameCell(cell, raw[names[c]!])) return false;
  }
  return true;
}

/**
 * The footer entry of a row group copied to `offset` of the output: chunk offsets shifted; page indexes (left in
 * the source file) and bloom filters dropped; statistics kept as they were read (raw bytes, so nothing is
 * re-decoded), except exactness flags that only the source could vouch for.
 */
export function movedRowGroup(rowGroup: RowGroup, from: number, offset: number): RowGroup {
  const delta = BigInt(offset - from);
  const columns = rowGroup.columns.map((column) => {
    const meta = column.meta_data!;
    const { statistics } = meta;
    return {
      file_offset: column.file_offset + delta,
      meta_data: {
        ...meta,
        data_page_offset: meta.data_page_offset + delta,
        // (an offset of 0 means no dictionary page: it stays 0)
        ...(meta.dictionary_page_offset ? { dictionary_page_offset: meta.dictionary_page_offset + delta } : {}),
        ...(meta.index_page_offset !== undefined ? { index_page_offset: meta.index_page_offset + delta } : {}),
        statistics: statistics && {
          ...statistics,
          is_max_value_exact: statistics.is_max_value_exact === false ? false : undefined,
          is_min_value_exact: statistics.is_min_value_exact === false ? false : undefined,
        },
      },
    };
  });
  return {
    columns,
    total_byte_size: rowGroup.total_byte_size,
    num_rows: rowGroup.num_rows,
    ...(rowGroup.sorting_columns ? { sorting_columns: rowGroup.sorting_columns } : {}),
    file_offset: BigInt(offset),
    total_compressed_size: BigInt(chunkBytes(rowGroup)),
  };
}
