import { open, stat } from 'node:fs/promises';
import type { LlavaRecord } from '@llavakit/format';
import { openParquetFile, type ParquetFile, parquetFilesOf, parquetRowText } from '@llavakit/format-parquet';

/** One record of a Parquet file as the viewer reads it: the canonical record's JSON text and its embedded images. */
export interface ParquetRecord {
  /** `JSON.stringify` of the canonical record, or the row's short JSON (bytes as sizes) when it is not a record. */
  readonly text: string;
  readonly record?: LlavaRecord;
  /** Why the row is not a LLaVA record. */
  readonly invalid?: { readonly message: string; readonly pointer?: string; readonly hint?: string };
  /** Embedded image bytes keyed by the paths the record names. */
  readonly embedded?: ReadonlyMap<string, Uint8Array>;
}

/**
 * True when an input is read as Parquet: a folder holding `.parquet` files (a Hub clone, `data/*.parquet`) or a file
 * starting with `PAR1`. Anything else is read as JSON (and a folder without Parquet gets `input/is-directory`).
 */
export async function isParquetInput(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  if (info.isDirectory()) {
    return parquetFilesOf(path).then(
      () => true,
      () => false,
    );
  }
  // Only a regular file can be sniffed: opening a FIFO would wait for a writer (the caller reports it).
  if (!info.isFile()) return false;
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    return head.toString('latin1') === 'PAR1';
  } finally {
    await handle.close();
  }
}

/** The Parquet files of an input (the file, or every `.parquet` under a folder, sorted). */
export const parquetFiles = parquetFilesOf;

/** Convert one raw row (as hyparquet gives it) to what the viewer shows. */
export function parquetRecordOf(parquet: ParquetFile, row: Record<string, unknown>, index: number): ParquetRecord {
  const converted = parquet.toRecord(row, index);
  if (!converted.ok) return { text: parquetRowText(row), invalid: converted.diagnostic };
  return {
    text: JSON.stringify(converted.record),
    record: converted.record,
    ...(converted.embedded ? { embedded: converted.embedded } : {}),
  };
}

/** `openParquetFile`'s options for a slice size (none: its default). */
export function sliceOption(sliceBytes: number | undefined): { sliceGroupBytes?: number } {
  return sliceBytes === undefined ? {} : { sliceGroupBytes: sliceBytes };
}

/** Bytes of decoded row groups {@link ParquetRecords} keeps, by default (the last one read is always kept). */
export const ROW_GROUP_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Row groups (or slices) {@link ParquetRecords} keeps at most. Decoded rows take several times the uncompressed size
 * the footer gives (objects and strings): 16 groups of the writer's 1,000-row groups of mix665k peaked at 423 MiB,
 * 4 at 337 MiB, with later pages still p95 33 ms (`scripts/bench.mjs`). A page and a record view touch one or two.
 */
const ROW_GROUP_CACHE_ENTRIES = 4;

interface CachedGroup {
  readonly key: string;
  readonly rows: Promise<Record<string, unknown>[]>;
  readonly bytes: number;
}

/**
 * Random access to the records of Parquet files by (file, row group, row): the files are opened once (their footers
 * kept compact by `openParquetFile`) and the decoded row groups last read are kept, most recent first, while they
 * fit in a byte budget (their uncompressed size as the footer says; the last one read is kept whatever its size). A
 * row group larger than 64 MiB whose large column chunks have several pages is read and kept in slices of pages
 * instead (`ParquetFile.slices`, `readRows`), so a file with a few huge row groups costs a page, not a group. A page
 * of the table is usually one row group, and a record view reads its row group and the one of the record whose id it
 * repeats.
 */
export class ParquetRecords {
  private cache: CachedGroup[] = [];
  private readonly opened = new Map<number, Promise<ParquetFile>>();

  constructor(
    private readonly pathOf: (file: number) => string,
    private readonly budget = ROW_GROUP_CACHE_BYTES,
    /** Row groups larger than this are read in slices of pages (default: `openParquetFile`'s). */
    private readonly sliceBytes?: number,
  ) {}

  /** The opened file (footer read once). */
  file(file: number): Promise<ParquetFile> {
    let p = this.opened.get(file);
    if (!p) {
      p = openParquetFile(this.pathOf(file), sliceOption(this.sliceBytes));
      this.opened.set(file, p);
      p.catch(() => this.opened.delete(file));
    }
    return p;
  }

  /**
   * The decoded rows of the slice of row group `group` that holds row `row` (the whole group, unless it is large and
   * has several pages: see `ParquetFile.slices`), from the cache or read now, with the slice's first row.
   */
  async slice(file: number, group: number, row = 0): Promise<{ rows: Record<string, unknown>[]; start: number }> {
    const parquet = await this.file(file);
    const starts = await parquet.slices(group);
    let s = 0;
    while (s + 1 < starts.length && starts[s + 1]! <= row) s++;
    const start = starts[s]!;
    const end = starts[s + 1] ?? parquet.groups[group]!;
    const key = starts.length > 1 ? `${file}:${group}:${start}` : `${file}:${group}`;
    const at = this.cache.findIndex((c) => c.key === key);
    if (at >= 0) {
      const [hit] = this.cache.splice(at, 1);
      this.cache.unshift(hit!);
      return { rows: await hit!.rows, start };
    }
    const rows = starts.length > 1 ? parquet.readRows(group, start, end) : parquet.readGroup(group);
    const share = (end - start) / Math.max(1, parquet.groups[group]!);
    const entry = { key, rows, bytes: Math.max(1, Math.round((parquet.groupBytes[group] ?? 0) * share)) };
    this.cache.unshift(entry);
    rows.catch(() => {
      this.cache = this.cache.filter((c) => c !== entry);
    });
    let used = 0;
    this.cache = this.cache.filter((c, i) => {
      used += c.bytes;
      return i === 0 || (used <= this.budget && i < ROW_GROUP_CACHE_ENTRIES);
    });
    return { rows: await rows, start };
  }

  /** The decoded rows of one row group (all its slices), from the cache or read now. */
  async rows(file: number, group: number): Promise<Record<string, unknown>[]> {
    const parquet = await this.file(file);
    const out: Record<string, unknown>[] = [];
    for (let row = 0; row < parquet.groups[group]!; ) {
      const { rows } = await this.slice(file, group, row);
      out.push(...rows);
      row += Math.max(1, rows.length);
    }
    return out;
  }

  /** Row groups in the cache now (most recent first), as `file:group`. */
  get cached(): string[] {
    return this.cache.map((c) => c.key);
  }

  /** The record at row `row` of row group `group`; `index` is its number in its input (names id-less images). */
  async read(file: number, group: number, row: number, index: number): Promise<ParquetRecord> {
    const parquet = await this.file(file);
    const { rows, start } = await this.slice(file, group, row);
    const raw = rows[row - start];
    if (raw === undefined) throw new Error(`${parquet.file} changed since it was indexed`);
    return parquetRecordOf(parquet, raw, index);
  }

  /** Forget the cached row groups and the opened files. */
  clear(): void {
    this.cache = [];
    this.opened.clear();
  }
}
