import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DiagnosticError } from '@llavakit/diagnostics';
import type { Diagnostic, FormatContext, InputSource, LlavaRecord, ReadResult, Turn } from '@llavakit/format';
import { extensionOfFormat, sniffImage } from '@llavakit/images';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compactFooter } from './footer.js';
import { IMAGE_SHAPE_KEY, LLAVAKIT_METADATA_KEY } from './layout.js';
import { type ParquetOptions, parquetRules } from './options.js';
import { type GroupPages, groupPages, PAGED_CHUNK_BYTES } from './pages.js';

const MAGIC = 'PAR1';
/** Row groups larger than this (uncompressed, as the footer says) are read in slices of pages when they have several. */
export const SLICE_GROUP_BYTES = 64 * 1024 * 1024;
const GLOB = /[*?[]/;

const fail = (ruleId: string, message: string, file: string | undefined, hint: string): DiagnosticError =>
  new DiagnosticError({ ruleId, severity: 'error', message, hint, source: 'parquet', ...(file ? { file } : {}) });

/** Turn a glob segment into a regular expression (`*`, `?`, `[…]`). */
function segmentRegExp(segment: string): RegExp {
  let pattern = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) pattern += '\\[';
      else {
        pattern += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else pattern += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

async function walk(dir: string, onFile: (path: string) => void): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, onFile);
    else if (entry.isFile()) onFile(path);
  }
}

async function globFiles(pattern: string): Promise<string[]> {
  const segments = pattern.split('/');
  const firstMagic = segments.findIndex((s) => GLOB.test(s));
  const base = segments.slice(0, firstMagic).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const rest = segments.slice(firstMagic);
  const found: string[] = [];
  const visit = async (dir: string, parts: string[]): Promise<void> => {
    const [head, ...tail] = parts;
    if (head === undefined) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (head === '**') {
      await visit(dir, tail);
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith('.')) await visit(join(dir, entry.name), parts);
      }
      return;
    }
    const re = segmentRegExp(head);
    for (const entry of entries) {
      if (!re.test(entry.name)) continue;
      const path = dir === '.' ? entry.name : join(dir, entry.name);
      if (tail.length === 0 && entry.isFile()) found.push(path);
      else if (tail.length > 0 && entry.isDirectory()) await visit(path, tail);
    }
  };
  await visit(base, rest);
  return [...new Set(found)];
}

/**
 * The Parquet files an input names: the file itself, every `*.parquet` under a folder (sorted, dot-folders
 * skipped), or the files a glob (`*`, `?`, `[…]`, `**`) matches. Throws `parquet/no-files` when there are none.
 */
export async function parquetFilesOf(input: string): Promise<string[]> {
  let files: string[];
  if (GLOB.test(input)) files = await globFiles(input);
  else {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw fail(parquetRules.noFiles, `No such file or folder: ${input}.`, input, 'Check the path.');
    if (info.isDirectory()) {
      files = [];
      await walk(input, (path) => {
        if (path.toLowerCase().endsWith('.parquet')) files.push(path);
      });
    } else files = [input];
  }
  if (files.length === 0) {
    throw fail(
      parquetRules.noFiles,
      `${input} names no Parquet file.`,
      input,
      'Name a .parquet file, a folder holding some (e.g. a Hub dataset clone), or a glob like data/train-*.parquet.',
    );
  }
  return files;
}

async function checkMagic(file: string): Promise<void> {
  const handle = await open(file, 'r').catch((error: Error) => {
    throw fail(parquetRules.unreadable, `Cannot open ${file}: ${error.message}`, file, 'Check the path.');
  });
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    if (size >= 12) {
      await handle.read(head, 0, 4, 0);
      await handle.read(tail, 0, 4, size - 4);
    }
    if (head.toString('latin1') !== MAGIC || tail.toString('latin1') !== MAGIC) {
      throw fail(
        parquetRules.unreadable,
        `${file} is not a Parquet file (no PAR1 magic at its start and end)${size >= 12 && head.toString('latin1') === MAGIC ? ': it looks truncated' : ''}.`,
        file,
        'Pass the Parquet files themselves (or --from llava for JSON input).',
      );
    }
  } finally {
    await handle.close();
  }
}

/** A value as JSON can hold it: bigints become numbers (or strings past 2^53), bytes base64, dates ISO text. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** A short JSON text of a row for the rejects file or a viewer (image bytes replaced by their size). */
export function rowText(row: Record<string, unknown>): string {
  const strip = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return `<${v.length} bytes>`;
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    }
    return jsonSafe(v);
  };
  const text = JSON.stringify(strip(row));
  return text.length > 100_000 ? `${text.slice(0, 100_000)}…` : text;
}

interface ImageCell {
  readonly bytes?: Uint8Array;
  readonly path?: string;
}

function imageCellOf(value: unknown): ImageCell | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Uint8Array) return { bytes: value };
  if (typeof value === 'string') return value ? { path: value } : undefined;
  if (typeof value === 'object') {
    const { bytes, path } = value as { bytes?: unknown; path?: unknown };
    const cell: { bytes?: Uint8Array; path?: string } = {};
    if (bytes instanceof Uint8Array) cell.bytes = bytes;
    else if (typeof bytes === 'string' && bytes) cell.bytes = new TextEncoder().encode(bytes);
    if (typeof path === 'string' && path) cell.path = path;
    return cell.bytes || cell.path ? cell : undefined;
  }
  return undefined;
}

type Converted =
  | { readonly ok: true; readonly record: LlavaRecord; readonly embedded?: Map<string, Uint8Array> }
  | { readonly ok: false; readonly diagnostic: Omit<Diagnostic, 'ruleId' | 'severity' | 'source'> };

interface FileInfo {
  readonly jsonColumns: ReadonlySet<string>;
  readonly overrides?: string;
}

/**
 * Convert one Parquet row (as hyparquet gives it, bytes kept binary) to a canonical LLaVA record, with the bytes of
 * its embedded images keyed by the paths the record names.
 */
export function rowToRecord(row: Record<string, unknown>, index: number, info: FileInfo): Converted {
  const overrides: Record<string, unknown> = {};
  const overrideText = info.overrides ? row[info.overrides] : undefined;
  if (typeof overrideText === 'string' && overrideText) {
    try {
      Object.assign(overrides, JSON.parse(overrideText));
    } catch {
      return { ok: false, diagnostic: { message: `Column ${info.overrides} is not valid JSON.`, pointer: '' } };
    }
  }
  let conversations: unknown = row.conversations;
  if (typeof conversations === 'string') {
    try {
      conversations = JSON.parse(conversations);
    } catch {
      return { ok: false, diagnostic: { message: 'Column conversations holds text that is not JSON.' } };
    }
  }
  if ('conversations' in overrides) conversations = overrides.conversations;
  if (!Array.isArray(conversations)) {
    return {
      ok: false,
      diagnostic: {
        message: conversations == null ? 'Row has no conversations.' : 'Column conversations is not a list.',
        hint: 'LLaVA rows need `conversations`: a list of {from, value}.',
      },
    };
  }
  const turns: Turn[] = [];
  for (const [i, raw] of conversations.entries()) {
    const turn = raw as Record<string, unknown> | null;
    if (!turn || typeof turn !== 'object' || typeof turn.from !== 'string' || typeof turn.value !== 'string') {
      return {
        ok: false,
        diagnostic: { message: `Turn ${i} has no string from/value.`, pointer: `/conversations/${i}` },
      };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(turn)) if (v !== null && v !== undefined) out[k] = jsonSafe(v);
    turns.push(out as Turn);
  }

  const record: Record<string, unknown> = {};
  let id = jsonSafe(row.id);
  if ('id' in overrides) id = overrides.id;
  if (typeof id === 'string' || typeof id === 'number') record.id = id;

  const cells: (ImageCell | undefined)[] = Array.isArray(row.images)
    ? (row.images as unknown[]).map(imageCellOf)
    : 'image' in row
      ? [imageCellOf(row.image)]
      : [];
  const embedded = new Map<string, Uint8Array>();
  const paths: string[] = [];
  const stem = String(record.id ?? index);
  for (const [i, cell] of cells.entries()) {
    if (!cell) continue;
    if (!cell.bytes) {
      paths.push(cell.path!);
      continue;
    }
    let path =
      cell.path ??
      `${stem}${cells.length > 1 ? `-${i}` : ''}.${extensionOfFormat(sniffImage(cell.bytes.subarray(0, 65536)).format) ?? 'bin'}`;
    for (let n = 1; embedded.has(path) || paths.includes(path); n++) path = `${cell.path ?? stem}#${n}`;
    embedded.set(path, cell.bytes);
    paths.push(path);
  }
  const shape = overrides[IMAGE_SHAPE_KEY];
  if (Array.isArray(row.images) || shape === 'list') {
    // A list cell stays a list (even empty); llavakit marks the rows whose `image` was one path.
    record.image = shape === 'string' && paths.length === 1 ? paths[0] : paths;
  } else if (paths.length > 0) record.image = paths[0];

  record.conversations = turns;
  for (const [key, value] of Object.entries(row)) {
    if (key === 'id' || key === 'conversations' || key === 'image' || key === 'images' || key === info.overrides)
      continue;
    if (value === null || value === undefined) continue;
    if (info.jsonColumns.has(key) && typeof value === 'string') {
      try {
        record[key] = JSON.parse(value);
        continue;
      } catch {
        // not JSON after all: keep the text
      }
    }
    record[key] = jsonSafe(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (key === IMAGE_SHAPE_KEY || key === 'id' || key === 'conversations') continue;
    record[key] = value;
  }
  return { ok: true, record: record as LlavaRecord, ...(embedded.size > 0 ? { embedded } : {}) };
}

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

/** One Parquet file opened for reading by row group (see {@link openParquetFile}). */
export interface ParquetFile {
  readonly file: string;
  /** Rows of each row group, in order. */
  readonly groups: readonly number[];
  /** Uncompressed bytes of each row group, as the footer says (what decoding it roughly costs in memory). */
  readonly groupBytes: readonly number[];
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

/**
 * Open one Parquet file for random access by row group: checks its magic, reads its footer (not its rows), and
 * reads one row group on demand. {@link readParquet} streams with it; `@llavakit/view` reads records by
 * (file, row group, row) with it. Throws `parquet/unreadable` for a file that is not Parquet or is truncated.
 */
export async function openParquetFile(
  file: string,
  options: { readonly sliceGroupBytes?: number } = {},
): Promise<ParquetFile> {
  const sliceGroupBytes = options.sliceGroupBytes ?? SLICE_GROUP_BYTES;
  await checkMagic(file);
  const buffer = await asyncBufferFromFile(file);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw fail(
      parquetRules.unreadable,
      `Cannot read the footer of ${file}: ${(error as Error).message}`,
      file,
      'The file may be truncated.',
    );
  }
  const columns = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const info = fileInfo(metadata, columns);
  // the parsed footer (kilobytes per row group) is dropped: each read gets a footer of its one row group
  const footer = compactFooter(metadata);
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
  const read = async (g: number, start: number, end: number, located?: GroupPages) => {
    const rowStart = starts[g];
    if (rowStart === undefined) throw new RangeError(`${file} has no row group ${g}`);
    try {
      return await parquetReadObjects({
        file: buffer,
        metadata: footer.groupMetadata(g),
        rowStart: start,
        rowEnd: end,
        utf8: false,
        // hyparquet's plan takes page locations (as an offset index gives them) for a narrowed read
        ...(located ? { pageLocationsByGroup: [located.locations] } : {}),
      } as Parameters<typeof parquetReadObjects>[0]);
    } catch (error) {
      throw fail(
        parquetRules.unreadable,
        `Cannot read rows ${rowStart + start}–${rowStart + end - 1} of ${file}: ${(error as Error).message}`,
        file,
        'Snappy-compressed and uncompressed files are read; re-encode others (e.g. DuckDB: COPY … TO … (FORMAT parquet)).',
      );
    }
  };
  return {
    file,
    groups,
    groupBytes: footer.groupBytes,
    readGroup: (g) => read(g, 0, groups[g] ?? 0),
    async slices(g) {
      if (groups[g] === undefined) throw new RangeError(`${file} has no row group ${g}`);
      return (await pagesOf(g))?.rows ?? [0];
    },
    async readRows(g, start, end) {
      const rows = groups[g];
      if (rows === undefined) throw new RangeError(`${file} has no row group ${g}`);
      const from = Math.max(0, Math.min(start, rows));
      const to = Math.max(from, Math.min(end, rows));
      const located = from > 0 || to < rows ? await pagesOf(g) : undefined;
      return read(g, from, to, located);
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
    throw fail(
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
      for (const [i, row] of rows.entries()) {
        const converted = parquet.toRecord(row, index);
        if (converted.ok) {
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
