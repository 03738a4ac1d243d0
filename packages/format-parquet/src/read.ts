import { closeSync, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FormatContext, InputSource, ReadResult } from '@llavakit/format';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type RowGroup } from 'hyparquet';
import { checkMagic, parquetFilesOf } from './files.js';
import { flatPlan, readFlatRows } from './flat.js';
import { compactFooter, wholeFooter } from './footer.js';
import { checkGroupPages } from './guard.js';
import { LLAVAKIT_METADATA_KEY } from './layout.js';
import { type ParquetOptions, parquetError, parquetRules } from './options.js';
import { type GroupPages, groupPages, PAGED_CHUNK_BYTES } from './pages.js';
import { chunkBytes, copyable, noteOrigin, type SourceGroup } from './passthrough.js';
import { type FileInfo, jsonSafe, rowText, rowToRecord } from './record.js';
import { snappyUncompress } from './snappy.js';
import { chunkStart, fileBuffer, type GroupBytes, readGroupBytes } from './source.js';
import { inColumnOrder, isTurnSchema, readTurnColumn, type TurnColumn, withLazyTurns } from './turns.js';

function fileInfo(metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>, columns: ReadonlySet<string>): FileInfo {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === LLAVAKIT_METADATA_KEY);
  let jsonColumns: string[] = [];
  let overrides: string | undefined;
  if (entry?.value) {
    try {
      const parsed = JSON.parse(entry.value) as { jsonColumns?: unknown; overrides?: unknown };
      if (Array.isArray(parsed.jsonColumns)) jsonColumns = parsed.jsonColumns.filter((c) => typeof c === 'string');
      if (typeof parsed.overrides === 'string' && columns.has(parsed.overrides)) overrides = parsed.overrides;
    } catch {
      // foreign metadata: read the columns as they are
    }
  }
  return { jsonColumns: new Set(jsonColumns), ...(overrides ? { overrides } : {}) };
}

/** The `conversations` turns of a row group read from its two leaf chunks (see turns.ts), or undefined. */
function turnColumnOf(rowGroup: RowGroup, bytes: GroupBytes, rows: number): TurnColumn | undefined {
  const leaf = (name: string) => {
    const column = rowGroup.columns.find((c) => {
      const path = c.meta_data?.path_in_schema;
      return path?.length === 4 && path[0] === 'conversations' && path[3] === name;
    });
    const meta = column?.meta_data;
    if (!meta) return undefined;
    const start = chunkStart(meta);
    const chunk = bytes.chunks.find((c) => c.start === start);
    return chunk && chunk.bytes.length === Number(meta.total_compressed_size)
      ? { chunk: chunk.bytes, codec: meta.codec, entries: Number(meta.num_values) }
      : undefined;
  };
  const from = leaf('from');
  const value = leaf('value');
  if (!from || !value || from.codec !== value.codec) return undefined;
  return readTurnColumn({ from: from.chunk, value: value.chunk }, from.codec, rows, from.entries);
}

/**
 * Copyable row groups up to this size (compressed) are written out from the bytes they were read from; larger ones
 * are copied from the file again (a second read costs little beside their size, holding them costs memory).
 */
export const COPY_FROM_MEMORY_BYTES = 4 * 1024 * 1024;

/** Row groups larger than this (uncompressed, as the footer says) are read in slices of pages when they have several. */
export const SLICE_GROUP_BYTES = 64 * 1024 * 1024;

/** The row group that `readGroup` read a rows array from, when it can be copied as is by a re-shard. */
const sourceGroups = new WeakMap<object, SourceGroup>();

/** One Parquet file opened for reading by row group (see {@link openParquetFile}). */
export interface ParquetFile {
  readonly file: string;
  /** Rows of each row group, in order. */
  readonly groups: readonly number[];
  /** Uncompressed bytes of each row group, as the footer says (what decoding it roughly costs in memory). */
  readonly groupBytes: readonly number[];
  /** The top-level column names, in file order. */
  readonly columns: readonly string[];
  /** The rows of row group `g` as hyparquet gives them (image bytes kept binary). Throws `parquet/unreadable`. */
  readGroup(g: number): Promise<Record<string, unknown>[]>;
  /**
   * Where row group `g` is best read in slices: the first rows of its slices, `[0]` (one slice, the group) unless
   * the group is larger than `sliceGroupBytes` and its large column chunks have several pages (then a slice per
   * page of the largest chunk, found from the page headers). See {@link ParquetFile.readRows}.
   */
  slices(g: number): Promise<readonly number[]>;
  /**
   * Rows `start`…`end - 1` of row group `g`, reading only the pages of its large column chunks that hold them (the
   * pages {@link ParquetFile.slices} found; the whole chunks otherwise). Throws `parquet/unreadable`.
   */
  readRows(g: number, start: number, end: number): Promise<Record<string, unknown>[]>;
  /** One row as a canonical LLaVA record (see {@link rowToRecord}); `index` names embedded images without an id. */
  toRecord(row: Record<string, unknown>, index: number): ReturnType<typeof rowToRecord>;
}

/** How {@link openParquetFile} keeps a file's footer and reads large row groups. */
export interface OpenParquetOptions {
  /** Row groups larger than this (uncompressed) are read in slices of pages by `readRows` (default 64 MiB). */
  readonly sliceGroupBytes?: number;
  /**
   * `compact` (default) keeps per row group only what reading it needs (a few dozen bytes per column chunk — a
   * viewer holding a file with thousands of row groups); `whole` keeps the parsed footer with its statistics, which
   * a re-shard copies into its output with the row groups it passes through.
   */
  readonly footer?: 'compact' | 'whole';
}

/** Where {@link readParquet} puts a descriptor of the file it holds open while it reads it (one open per file). */
const HELD_FD: unique symbol = Symbol('llavakit.parquet.held-fd');
type HeldOptions = OpenParquetOptions & { readonly [HELD_FD]?: { readonly fd?: number } };

/**
 * The row counts of a footer agree: each row group's is a count, and they add up to the file's (a damaged footer
 * could otherwise make rows vanish without a word). Throws an Error saying which count is wrong.
 */
function checkRowCounts(metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>): void {
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error('the footer has no valid row count');
  let sum = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const n = Number(group.num_rows);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`row group ${g} has no valid row count`);
    sum += n;
  }
  if (sum !== rows) throw new Error(`its row groups hold ${sum} rows, the footer says ${rows}`);
}

/**
 * Open one Parquet file for random access by row group: checks its magic, reads its footer (not its rows), and
 * reads one row group (or a slice of one) on demand. {@link readParquet} streams with it; `@llavakit/view` reads
 * records by (file, row group, row) with it. Throws `parquet/unreadable` for a file that is not Parquet or is
 * truncated.
 */
export async function openParquetFile(file: string, options: OpenParquetOptions = {}): Promise<ParquetFile> {
  const sliceGroupBytes = options.sliceGroupBytes ?? SLICE_GROUP_BYTES;
  const held = (options as HeldOptions)[HELD_FD];
  await checkMagic(file);
  const { size } = await stat(file);
  const buffer = fileBuffer(file, size);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    // Statistics stay raw bytes (nothing reads them but a re-shard copying them into its own footer).
    metadata = await parquetMetadataAsync(buffer, { parsers: { stringFromBytes: (bytes: Uint8Array) => bytes } });
    checkRowCounts(metadata);
  } catch (error) {
    throw parquetError(
      parquetRules.unreadable,
      `Cannot read the footer of ${file}: ${(error as Error).message}`,
      file,
      'The file may be truncated.',
    );
  }
  const columnNames = parquetSchema(metadata).children.map((c) => c.element.name);
  const columns = new Set(columnNames);
  const otherColumns = columnNames.filter((name) => name !== 'conversations');
  const info = fileInfo(metadata, columns);
  // Row groups of a file written by llavakit can be copied by a re-shard (see passthrough.ts), from a whole footer.
  const whole = options.footer === 'whole';
  const ours = whole && (metadata.key_value_metadata?.some((kv) => kv.key === LLAVAKIT_METADATA_KEY) ?? false);
  // a compact footer drops the parsed one (kilobytes per row group): each read gets a footer of its one row group
  const footer = whole ? wholeFooter(metadata) : compactFooter(metadata);
  const turnSchema = ours && isTurnSchema(metadata);
  // the other columns of a group whose turns are read from their pages, when they are all flat byte arrays
  const flat = turnSchema ? flatPlan(metadata, otherColumns) : undefined;
  const groups = footer.groups;
  const starts: number[] = [];
  let at = 0;
  for (const rows of groups) {
    starts.push(at);
    at += rows;
  }
  const pages = new Map<number, Promise<GroupPages | undefined>>();
  const pagesOf = (g: number): Promise<GroupPages | undefined> => {
    let p = pages.get(g);
    if (!p) {
      p =
        footer.groupBytes[g]! > sliceGroupBytes
          ? groupPages(file, footer.groupMetadata(g), Math.min(PAGED_CHUNK_BYTES, sliceGroupBytes)).catch(
              () => undefined,
            )
          : Promise.resolve(undefined);
      pages.set(g, p);
    }
    return p;
  };
  const unreadable = (g: number, start: number, end: number, error: unknown) =>
    parquetError(
      parquetRules.unreadable,
      `Cannot read rows ${starts[g]! + start}–${starts[g]! + end - 1} of ${file}: ${(error as Error).message}`,
      file,
      'The file may be damaged (re-download or re-export it); Snappy-compressed and uncompressed files are read, re-encode others (e.g. DuckDB: COPY … TO … (FORMAT parquet)).',
    );
  const readGroup = async (g: number): Promise<Record<string, unknown>[]> => {
    const rows = groups[g];
    if (rows === undefined) throw new RangeError(`${file} has no row group ${g}`);
    try {
      // The row group's column chunks in one read, decoded from memory.
      const groupFooter = footer.groupMetadata(g);
      const rowGroup = groupFooter.row_groups[0]!;
      const candidate = ours && copyable(rowGroup);
      // (a group that may be copied is read at once: its pages are read by turns.ts and flat.ts, not hyparquet)
      const bytes = readGroupBytes(file, rowGroup, candidate && turnSchema && flat !== undefined, held?.fd);
      // the page headers (and V2 level runs) are checked before any decoder sees them: a damaged one is named,
      // not looped on (by hyparquet, or by the level decoder turns.ts and flat.ts share with it)
      checkGroupPages(rowGroup, bytes.chunks, groupFooter.schema);
      const canCopy = candidate && bytes.contiguous && chunkBytes(rowGroup) === bytes.length;
      // A group a re-shard may copy: its turns are checked from their pages and decoded only when asked for.
      const turns = canCopy && turnSchema ? turnColumnOf(rowGroup, bytes, rows) : undefined;
      const read =
        (turns && flat && readFlatRows(flat, rowGroup, bytes, rows)) ||
        (await parquetReadObjects({
          file: fileBuffer(file, size, bytes),
          metadata: groupFooter,
          rowStart: 0,
          rowEnd: rows,
          utf8: false,
          ...(turns ? { columns: otherColumns } : {}),
          compressors: { SNAPPY: snappyUncompress },
        }));
      if (turns) for (const [i, row] of read.entries()) withLazyTurns(row, turns, i);
      const decoded = read;
      if (canCopy) {
        sourceGroups.set(decoded, {
          metadata,
          rowGroup,
          file,
          start: bytes.start,
          length: bytes.length,
          rows: decoded.length,
          // (a large group is copied from the file: its chunks are not held while its records are in flight)
          ...(bytes.length <= COPY_FROM_MEMORY_BYTES ? { chunks: bytes.chunks.map((c) => c.bytes) } : {}),
        });
      }
      return decoded;
    } catch (error) {
      throw unreadable(g, 0, rows, error);
    }
  };
  return {
    file,
    groups,
    groupBytes: footer.groupBytes,
    columns: columnNames,
    readGroup,
    async slices(g) {
      if (groups[g] === undefined) throw new RangeError(`${file} has no row group ${g}`);
      return (await pagesOf(g))?.rows ?? [0];
    },
    async readRows(g, start, end) {
      const rows = groups[g];
      if (rows === undefined) throw new RangeError(`${file} has no row group ${g}`);
      const from = Math.max(0, Math.min(start, rows));
      const to = Math.max(from, Math.min(end, rows));
      if (from === 0 && to === rows) return readGroup(g);
      const located = await pagesOf(g);
      try {
        return await parquetReadObjects({
          file: buffer,
          metadata: footer.groupMetadata(g),
          rowStart: from,
          rowEnd: to,
          utf8: false,
          compressors: { SNAPPY: snappyUncompress },
          // hyparquet's plan takes page locations (as an offset index gives them) for a narrowed read
          ...(located ? { pageLocationsByGroup: [located.locations] } : {}),
        } as Parameters<typeof parquetReadObjects>[0]);
      } catch (error) {
        throw unreadable(g, from, to, error);
      }
    },
    toRecord: (row, index) => rowToRecord(row, index, info),
  };
}

/**
 * Read Parquet rows as LLaVA records, one row group at a time (constant memory): a file, every `.parquet` under a
 * folder, or a glob. Reads the Hub's LLaVA shapes (`id` string or integer, `conversations` as a list of
 * `{from, value}` structs or JSON text, `image` as the `Image` struct `{bytes, path}` or `images` as a list of them,
 * null images) and what llavakit writes (restoring ids' JSON type and extra keys). Embedded image bytes travel with
 * each record (`embedded`), keyed by the paths the record names.
 */
export async function* readParquet(
  input: InputSource,
  context: FormatContext<ParquetOptions>,
): AsyncGenerator<ReadResult> {
  if (typeof input !== 'string') {
    throw parquetError(
      parquetRules.unreadable,
      'Parquet cannot be read from standard input.',
      undefined,
      'Pass the file, folder or glob.',
    );
  }
  const files = await parquetFilesOf(input);
  let index = 0;
  for (const file of files) {
    const held: { fd?: number } = {};
    const parquet = await openParquetFile(file, { footer: 'whole', [HELD_FD]: held } as HeldOptions);
    // (opened once the file is known to be Parquet; closed when the file is read, or the reading stops)
    held.fd = openSync(file, 'r');
    try {
      if (files.length > 1) context.count('parquet:files');
      let rowStart = 0;
      for (let g = 0; g < parquet.groups.length; g++) {
        // a row group too large to decode at once is read in slices of pages (such a group is never copied)
        const slices = await parquet.slices(g);
        for (const [k, first] of slices.entries()) {
          if (context.signal?.aborted) return;
          const rows =
            slices.length === 1
              ? await parquet.readGroup(g)
              : await parquet.readRows(g, first, slices[k + 1] ?? parquet.groups[g]!);
          const group = sourceGroups.get(rows);
          for (let j = 0; j < rows.length; j++) {
            const row = rows[j]!;
            const i = first + j;
            const converted = parquet.toRecord(row, index);
            if (converted.ok) {
              if (group) noteOrigin(converted.record, { group, row: i, raw: row });
              const result: ReadResult = converted.embedded
                ? { ok: true, record: converted.record, index, embedded: converted.embedded }
                : { ok: true, record: converted.record, index };
              yield result;
            } else {
              const id = jsonSafe(row.id);
              yield {
                ok: false,
                index,
                text: rowText(inColumnOrder(row, parquet.columns)),
                diagnostics: [
                  {
                    ruleId: parquetRules.invalidRow,
                    severity: 'error',
                    source: 'parquet',
                    file,
                    recordIndex: index,
                    hint: 'LLaVA rows need `conversations`: a list of {from, value} with string values.',
                    ...converted.diagnostic,
                    message: `Row ${rowStart + i} of ${file}: ${converted.diagnostic.message}`,
                    ...(typeof id === 'string' || typeof id === 'number' ? { recordId: id } : {}),
                  },
                ],
              };
            }
            index++;
          }
        }
        rowStart += parquet.groups[g]!;
      }
    } finally {
      closeSync(held.fd);
    }
  }
}
