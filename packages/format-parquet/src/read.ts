import { stat } from 'node:fs/promises';
import type { FormatContext, InputSource, ReadResult } from '@llavakit/format';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { checkMagic, parquetFilesOf } from './files.js';
import { LLAVAKIT_METADATA_KEY } from './layout.js';
import { type ParquetOptions, parquetError, parquetRules } from './options.js';
import { chunkBytes, copyable, noteOrigin, type SourceGroup } from './passthrough.js';
import { type FileInfo, jsonSafe, rowText, rowToRecord } from './record.js';
import { snappyUncompress } from './snappy.js';
import { fileBuffer, readGroupBytes } from './source.js';

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

/** The row group that `readGroup` read a rows array from, when it can be copied as is by a re-shard. */
const sourceGroups = new WeakMap<object, SourceGroup>();

/** One Parquet file opened for reading by row group (see {@link openParquetFile}). */
export interface ParquetFile {
  readonly file: string;
  /** Rows of each row group, in order. */
  readonly groups: readonly number[];
  /** The rows of row group `g` as hyparquet gives them (image bytes kept binary). Throws `parquet/unreadable`. */
  readGroup(g: number): Promise<Record<string, unknown>[]>;
  /** One row as a canonical LLaVA record (see {@link rowToRecord}); `index` names embedded images without an id. */
  toRecord(row: Record<string, unknown>, index: number): ReturnType<typeof rowToRecord>;
}

/**
 * Open one Parquet file for random access by row group: checks its magic, reads its footer (not its rows), and
 * reads one row group on demand. {@link readParquet} streams with it; `@llavakit/view` reads records by
 * (file, row group, row) with it. Throws `parquet/unreadable` for a file that is not Parquet or is truncated.
 */
export async function openParquetFile(file: string): Promise<ParquetFile> {
  await checkMagic(file);
  const { size } = await stat(file);
  const buffer = fileBuffer(file, size);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    // Statistics stay raw bytes (nothing reads them but a re-shard copying them into its own footer).
    metadata = await parquetMetadataAsync(buffer, { parsers: { stringFromBytes: (bytes: Uint8Array) => bytes } });
  } catch (error) {
    throw parquetError(
      parquetRules.unreadable,
      `Cannot read the footer of ${file}: ${(error as Error).message}`,
      file,
      'The file may be truncated.',
    );
  }
  const columns = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const info = fileInfo(metadata, columns);
  // Row groups of a file written by llavakit can be copied by a re-shard (see passthrough.ts).
  const ours = metadata.key_value_metadata?.some((kv) => kv.key === LLAVAKIT_METADATA_KEY) ?? false;
  const groups = metadata.row_groups.map((group) => Number(group.num_rows));
  const starts: number[] = [];
  let at = 0;
  for (const rows of groups) {
    starts.push(at);
    at += rows;
  }
  return {
    file,
    groups,
    async readGroup(g) {
      const rowStart = starts[g];
      if (rowStart === undefined) throw new RangeError(`${file} has no row group ${g}`);
      const rowEnd = rowStart + groups[g]!;
      try {
        // The row group's column chunks in one read, decoded from memory.
        const rowGroup = metadata.row_groups[g]!;
        const bytes = readGroupBytes(file, rowGroup);
        const rows = await parquetReadObjects({
          file: fileBuffer(file, size, bytes),
          metadata,
          rowStart,
          rowEnd,
          utf8: false,
          compressors: { SNAPPY: snappyUncompress },
        });
        if (ours && bytes.contiguous && copyable(rowGroup) && chunkBytes(rowGroup) === bytes.length) {
          sourceGroups.set(rows, {
            metadata,
            rowGroup,
            file,
            start: bytes.start,
            length: bytes.length,
            rows: rows.length,
          });
        }
        return rows;
      } catch (error) {
        throw parquetError(
          parquetRules.unreadable,
          `Cannot read rows ${rowStart}–${rowEnd - 1} of ${file}: ${(error as Error).message}`,
          file,
          'Snappy-compressed and uncompressed files are read; re-encode others (e.g. DuckDB: COPY … TO … (FORMAT parquet)).',
        );
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
    const parquet = await openParquetFile(file);
    if (files.length > 1) context.count('parquet:files');
    let rowStart = 0;
    for (let g = 0; g < parquet.groups.length; g++) {
      if (context.signal?.aborted) return;
      const rows = await parquet.readGroup(g);
      const group = sourceGroups.get(rows);
      for (const [i, row] of rows.entries()) {
        const converted = parquet.toRecord(row, index);
        if (converted.ok) {
          if (group) noteOrigin(converted.record, { group, row: i, raw: row });
          yield {
            ok: true,
            record: converted.record,
            index,
            ...(converted.embedded ? { embedded: converted.embedded } : {}),
          };
        } else {
          const id = jsonSafe(row.id);
          yield {
            ok: false,
            index,
            text: rowText(row),
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
      rowStart += parquet.groups[g]!;
    }
  }
}
